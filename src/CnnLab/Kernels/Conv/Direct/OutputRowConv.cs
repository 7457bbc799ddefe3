using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend as in Conv2dKernel.cs; Hp = H + 2·PH and Wp = W + 2·PW the zero-padded input's sides, k = (c, u, v) a tap
// (R = Cg·KH·KW of them, in the column matrix's order). Each padded row is kept as SW column phases of L = ⌈Wp / SW⌉ floats
// (phase r holds columns r, r + SW, …; at SW = 1 the row as it is), a row of F = SW·L floats, so that consecutive outputs'
// inputs of a tap are consecutive: tap(k) = (c·Hp + u·DH)·F + (v·DW mod SW)·L + ⌊v·DW / SW⌋. A pixel vector is up to 16
// output pixels of one row, (oh, ow0 … ow0 + 15), which read the padded input from oh·SH·F + ow0 + tap(k).

/// <summary>
/// Direct convolution, stride 1 or 2 along rows, with 16 pixels of an output row per vector:
/// y[o, oh, ow0 … ow0+15] = Σ_k w[o, k] · x_padded[oh·SH·F + ow0 + tap(k) … + 15]. A step takes three pixel vectors and
/// eight output channels (24 accumulators): per tap three input loads and eight broadcast weights feed 24 FMAs. The
/// channel-blocked kernel puts output channels in the lanes and broadcasts one input value per FMA, which with 16 outputs
/// per group (a grouped or dilated layer) is 17 loads per 16 FMAs; this one needs only rows that fill their vectors.
/// Each output is one fused multiply-add chain over k in the column matrix's order starting from zero, then + b, then
/// ReLU: <see cref="ChannelBlockedConv"/>'s order, so the same bits as it (and as im2col + GEMM where R ≤
/// <see cref="Gemm.KcMax"/>). Written by hand: no .NET library has a convolution.
/// </summary>
/// <remarks>PyTorch: what oneDNN's direct convolution does with its "ow-blocked" kernels for <c>F.conv2d</c>.</remarks>
internal sealed unsafe class OutputRowConv
{
    private const int Lanes = 16;

    // Output channels and pixel vectors per step.
    private const int Channels = 8, Vectors = 3;

    /// <summary>Stride 1 or 2 along rows, any down columns, and AVX-512 (<see cref="ConvPlanner"/> chooses when it pays).</summary>
    public static bool Supports(in Conv2dGeometry g) => Avx512F.IsSupported && g.SW <= 2;

    // One group's geometry (groups run one after the other on their slices of x, w, b and y), the groups.
    private readonly Conv2dGeometry _g;
    private readonly int _groups;
    private readonly int[] _inputs;  // each pixel vector's first input, oh·Wp + ow0, then the last one up to a whole step
    private readonly int[] _outputs; // its first output, oh·OW + ow0, likewise
    private readonly int[] _counts;  // its pixels, 1 to 16; 0 for the step's filling, which stores nothing
    private readonly int[] _taps;    // tap(k) for k < R

    public OutputRowConv(in Conv2dGeometry g)
    {
        if (!Supports(g)) throw new ArgumentException($"the output-row convolution does not take {g}");
        (_g, _groups) = (g with { C = g.Cg, OC = g.OCg, G = 1 }, g.G);
        int perRow = (g.OW + Lanes - 1) / Lanes, vectors = g.OH * perRow, steps = (vectors + Vectors - 1) / Vectors;
        (_inputs, _outputs, _counts) = (new int[steps * Vectors], new int[steps * Vectors], new int[steps * Vectors]);
        for (int i = 0; i < _inputs.Length; i++)
        {
            int vector = Math.Min(i, vectors - 1), oh = vector / perRow, ow0 = vector % perRow * Lanes;
            (_inputs[i], _outputs[i]) = (oh * g.SH * PaddedRow + ow0, oh * g.OW + ow0);
            _counts[i] = i < vectors ? Math.Min(Lanes, g.OW - ow0) : 0;
        }
        _taps = new int[g.ColRows];
        for (int k = 0; k < _taps.Length; k++)
        {
            int c = k / (g.KH * g.KW), u = k / g.KW % g.KH, v = k % g.KW;
            _taps[k] = (c * PaddedHeight + u * g.DH) * PaddedRow + v * g.DW % g.SW * Phase + v * g.DW / g.SW;
        }
    }

    private int PaddedHeight => _g.H + 2 * _g.PH;

    // L, a column phase of a padded row, and F = SW·L, the row.
    private int Phase => (_g.W + 2 * _g.PW + _g.SW - 1) / _g.SW;
    private int PaddedRow => _g.SW * Phase;

    // A partial pixel vector reads past its row (its phase): up to a vector past the padded image's end, so the scratch has that
    // more. The lanes of outputs inside the row read inside their phase: (OW − 1)·SW + (KW − 1)·DW ≤ Wp − 1.
    private bool ReadsInPlace => _g.SW == 1 && _g.PH == 0 && _g.PW == 0 && _g.OW % Lanes == 0;

    /// <summary>Floats of the padded-image scratch each thread needs (0 when the input is read in place).</summary>
    public int PaddedLength => ReadsInPlace ? 0 : _g.C * PaddedHeight * PaddedRow + Lanes;

    private int ChannelBlocks => (_g.OC + Channels - 1) / Channels;

    /// <summary>Floats of the packed weights: G · ⌈OCg / 8⌉ · R · 8.</summary>
    public int PackedLength => _groups * ChannelBlocks * _g.ColRows * Channels;

    /// <summary>
    /// The weights by blocks of 8 output channels of a group, the 8 of each tap side by side:
    /// packed[((grp·⌈OCg/8⌉ + o / 8)·R + k)·8 + o % 8] = w[grp·OCg + o, k], zero past the group's last channel.
    /// </summary>
    public void PackWeights(ReadOnlySpan<float> w, Span<float> packed)
    {
        int r = _g.ColRows, ocg = _g.OC, blocks = ChannelBlocks;
        packed[..PackedLength].Clear();
        for (int grp = 0; grp < _groups; grp++)
            for (int o = 0; o < ocg; o++)
                for (int k = 0; k < r; k++)
                    packed[((grp * blocks + o / Channels) * r + k) * Channels + o % Channels] = w[(grp * ocg + o) * r + k];
    }

    /// <summary>
    /// The padded input of one group of an image: the input itself where it is read in place, else
    /// <paramref name="padded"/> (<see cref="PaddedLength"/> floats whose border is zero: only the inside is written). At SW = 2
    /// input column w goes to phase (w + PW) mod 2 at (w + PW) / 2: the even columns to one phase, the odd ones to the other.
    /// </summary>
    private float* Padded(float* x, float* padded)
    {
        if (ReadsInPlace) return x;
        if (_g.SW == 1)
        {
            RowCopy.IntoPadded(x, _g.C, _g.H, _g.W, _g.PH, _g.PW, padded);
            return padded;
        }
        for (int c = 0; c < _g.C; c++)
            StrideTwoRows.SplitIntoPhases(x + (long)c * _g.H * _g.W, _g.H, _g.W, _g.PW, padded + ((long)c * PaddedHeight + _g.PH) * PaddedRow,
                Phase, PaddedRow);
        return padded;
    }

    /// <summary>
    /// y [OC, OH·OW] = act(conv(x [C, H, W]) + bias) of one image (bias null: none), group by group. <paramref name="padded"/>:
    /// <see cref="PaddedLength"/> floats, zeroed once before the first image of a call. <paramref name="next"/>: the image the
    /// caller runs next (null: none), asked for into L2 a line at a time while this one runs (<see cref="PrefetchStream"/>).
    /// </summary>
    public void ForwardImage(float* x, float* packed, float* bias, Rectifier relu, float* y, float* padded, float* next = null)
    {
        long xGroup = (long)_g.C * _g.H * _g.W;
        for (int grp = 0; grp < _groups; grp++)
            ForwardGroup(grp, x + grp * xGroup, packed, bias, relu, y + (long)grp * _g.OC * _g.ColCols, padded, false,
                grp + 1 < _groups ? x + (grp + 1) * xGroup : next);
    }

    /// <summary>
    /// Group <paramref name="grp"/> of <see cref="ForwardImage"/>: x and y point at the group's channels of the image, packed and
    /// bias at all groups'; with <paramref name="accumulate"/>, y += act(conv(x) + bias) instead. <paramref name="ahead"/>: what
    /// the caller reads next (C·H·W floats; null: none), asked for a line per tap of every step, or two where one would not
    /// cover it (few outputs of a pointwise layer: 64→16 on 32x32 at batch 256 took 9.0 ms with one line, 6.7 with two).
    /// </summary>
    public void ForwardGroup(int grp, float* x, float* packed, float* bias, Rectifier relu, float* y, float* padded, bool accumulate,
        float* ahead = null)
    {
        int r = _g.ColRows;
        float* src = Padded(x, padded);
        packed += (long)grp * ChannelBlocks * r * Channels;
        if (bias != null) bias += grp * _g.OC;
        long floats = (long)_g.C * _g.H * _g.W, asks = (long)_inputs.Length / Vectors * ChannelBlocks * r;
        if (ahead == null) Steps<CacheLines.NoAhead>(src, packed, bias, relu, y, accumulate, default);
        else if (floats <= asks * CacheLines.LineFloats)
            Steps<CacheLines.AskAhead>(src, packed, bias, relu, y, accumulate, PrefetchStream.Over(ahead, floats, asks));
        else Steps<CacheLines.AskAheadTwice>(src, packed, bias, relu, y, accumulate, PrefetchStream.Over(ahead, floats, asks, lines: 2));
    }

    // A block of eight output channels over every pixel vector, then the next block: each step stores eight output rows, which
    // the next step continues. With the pixels outer and the blocks inner, every output plane was written at once (64 streams for
    // 64 outputs), and where a step's sum is short that cost (batch 256, ms): 3→64 3x3 on 32x32 15.5 → 10.9, 3→32 5x5 14.1 →
    // 12.6, 3→24 3x3 on 40x56 (batch 128) 6.0 → 4.7, 64→16 1x1 7.6 → 6.8; with 16 to 128 inputs it measured the same.
    // Run alone (a single image), the blocks go to the threads.
    private void Steps<TAhead>(float* src, float* packed, float* bias, Rectifier relu, float* y, bool accumulate, PrefetchStream ahead)
        where TAhead : struct, CacheLines.IAhead
    {
        int blocks = (_g.OC + Channels - 1) / Channels;
        if (ThreadSplit.Pays(blocks, (long)Channels * _g.ColCols * _g.ColRows, out int minChunk))
            SplitBlocks(src, packed, bias, relu, y, accumulate, blocks, minChunk);
        else
            for (int o0 = 0; o0 < _g.OC; o0 += Channels) Block<TAhead>(src, packed, bias, relu, y, accumulate, o0, ref ahead);
    }

    // The blocks on the threads (a method of its own: the loop's closure is allocated only where it runs).
    private void SplitBlocks(float* src, float* packed, float* bias, Rectifier relu, float* y, bool accumulate, int blocks, int minChunk)
    {
        nint xs = (nint)src, ws = (nint)packed, bs = (nint)bias, ys = (nint)y;
        Parallelism.For(blocks, minChunk, (start, end) =>
        {
            var none = default(PrefetchStream);
            for (int k = start; k < end; k++)
                Block<CacheLines.NoAhead>((float*)xs, (float*)ws, (float*)bs, relu, (float*)ys, accumulate, k * Channels, ref none);
        });
    }

    // The block of output channels from o0 over every pixel vector.
    private void Block<TAhead>(float* src, float* packed, float* bias, Rectifier relu, float* y, bool accumulate, int o0,
        ref PrefetchStream ahead) where TAhead : struct, CacheLines.IAhead
    {
        int r = _g.ColRows, p = _g.ColCols;
        fixed (int* inputs = _inputs, outputs = _outputs, counts = _counts, taps = _taps)
            for (int i = 0; i < _inputs.Length; i += Vectors, ahead = TAhead.Asks ? ahead.After(r) : default)
                Step<TAhead>(src, inputs + i, taps, packed + (long)o0 * r, r, bias == null ? null : bias + o0, relu, accumulate,
                    y + (long)o0 * p, p, outputs + i, counts + i, Math.Min(Channels, _g.OC - o0), ahead);
    }

    // Three pixel vectors of eight output channels: 24 chains over the taps, then + bias, the rectifier, and the `channels` real ones stored.
    // With AskAhead, each tap asks for one line of `ahead`; with AskAheadTwice, two.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Step<TAhead>(float* src, int* inputs, int* taps, float* weights, int r, float* bias, Rectifier relu, bool accumulate,
        float* y, int p, int* outputs, int* counts, int channels, PrefetchStream ahead) where TAhead : struct, CacheLines.IAhead
    {
        float* asked = ahead.At;
        nint askStep = ahead.Step;
        float* x0 = src + inputs[0], x1 = src + inputs[1], x2 = src + inputs[2];
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default, b6 = default, b7 = default;
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        for (int* tap = taps, end = taps + r; tap < end; tap++, weights += Channels)
        {
            nint t = *tap;
            if (TAhead.Asks) asked = TAhead.Twice ? PrefetchStream.AskTwo(asked, askStep) : PrefetchStream.Ask(asked, askStep);
            Vector512<float> u = Vector512.Load(x0 + t), v = Vector512.Load(x1 + t), s = Vector512.Load(x2 + t);
            var w = Vector512.Create(weights[0]);
            a0 = Vector512.FusedMultiplyAdd(w, u, a0); b0 = Vector512.FusedMultiplyAdd(w, v, b0); c0 = Vector512.FusedMultiplyAdd(w, s, c0);
            w = Vector512.Create(weights[1]);
            a1 = Vector512.FusedMultiplyAdd(w, u, a1); b1 = Vector512.FusedMultiplyAdd(w, v, b1); c1 = Vector512.FusedMultiplyAdd(w, s, c1);
            w = Vector512.Create(weights[2]);
            a2 = Vector512.FusedMultiplyAdd(w, u, a2); b2 = Vector512.FusedMultiplyAdd(w, v, b2); c2 = Vector512.FusedMultiplyAdd(w, s, c2);
            w = Vector512.Create(weights[3]);
            a3 = Vector512.FusedMultiplyAdd(w, u, a3); b3 = Vector512.FusedMultiplyAdd(w, v, b3); c3 = Vector512.FusedMultiplyAdd(w, s, c3);
            w = Vector512.Create(weights[4]);
            a4 = Vector512.FusedMultiplyAdd(w, u, a4); b4 = Vector512.FusedMultiplyAdd(w, v, b4); c4 = Vector512.FusedMultiplyAdd(w, s, c4);
            w = Vector512.Create(weights[5]);
            a5 = Vector512.FusedMultiplyAdd(w, u, a5); b5 = Vector512.FusedMultiplyAdd(w, v, b5); c5 = Vector512.FusedMultiplyAdd(w, s, c5);
            w = Vector512.Create(weights[6]);
            a6 = Vector512.FusedMultiplyAdd(w, u, a6); b6 = Vector512.FusedMultiplyAdd(w, v, b6); c6 = Vector512.FusedMultiplyAdd(w, s, c6);
            w = Vector512.Create(weights[7]);
            a7 = Vector512.FusedMultiplyAdd(w, u, a7); b7 = Vector512.FusedMultiplyAdd(w, v, b7); c7 = Vector512.FusedMultiplyAdd(w, s, c7);
        }
        Store(a0, b0, c0, 0, bias, relu, accumulate, y, p, outputs, counts, channels);
        Store(a1, b1, c1, 1, bias, relu, accumulate, y, p, outputs, counts, channels);
        Store(a2, b2, c2, 2, bias, relu, accumulate, y, p, outputs, counts, channels);
        Store(a3, b3, c3, 3, bias, relu, accumulate, y, p, outputs, counts, channels);
        Store(a4, b4, c4, 4, bias, relu, accumulate, y, p, outputs, counts, channels);
        Store(a5, b5, c5, 5, bias, relu, accumulate, y, p, outputs, counts, channels);
        Store(a6, b6, c6, 6, bias, relu, accumulate, y, p, outputs, counts, channels);
        Store(a7, b7, c7, 7, bias, relu, accumulate, y, p, outputs, counts, channels);
    }

    // Output channel o of the step's three pixel vectors: + bias, the rectifier (as the GEMM's epilogue), each vector's pixels stored
    // (or added to what is there).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector512<float> a, Vector512<float> b, Vector512<float> c, int o, float* bias, Rectifier relu, bool accumulate,
        float* y, int p, int* outputs, int* counts, int channels)
    {
        if (o >= channels) return;
        float* row = y + (long)o * p;
        float add = bias == null ? 0 : bias[o];
        StoreVector(Finish(a, bias != null, add, relu), row + outputs[0], counts[0], accumulate);
        StoreVector(Finish(b, bias != null, add, relu), row + outputs[1], counts[1], accumulate);
        StoreVector(Finish(c, bias != null, add, relu), row + outputs[2], counts[2], accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Finish(Vector512<float> v, bool hasBias, float bias, Rectifier relu)
    {
        if (hasBias) v += Vector512.Create(bias);
        return relu.Apply(v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreVector(Vector512<float> v, float* at, int count, bool accumulate)
    {
        if (count == Lanes)
        {
            if (accumulate) v = Vector512.Load(at) + v;
            v.Store(at);
            return;
        }
        var mask = LaneMask.First(count).AsSingle();
        if (accumulate) v = Avx512F.MaskLoad(at, mask, Vector512<float>.Zero) + v;
        Avx512F.MaskStore(at, mask, v);
    }
}
