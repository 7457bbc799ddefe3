using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend as in Conv2dKernel.cs; k = (c, u, v) a tap of the kernel (a row of the column matrix, R of them),
// Hp = H + 2·PH and Wp = W + 2·PW the zero-padded input's sides, o0 the first of a block of 16 output channels.
// pixel(p) = oh·SH·Wp + ow·SW and tap(k) = c·Hp·Wp + u·DH·Wp + v·DW: output pixel p reads the padded
// input at pixel(p) + tap(k) for tap k.

/// <summary>
/// Direct convolution with 16 output channels per vector, for small planes (oneDNN's channel-blocked
/// "nChw16c" idea, applied to the weights only):
/// y[o0 … o0+15, p] = Σ_k Wᵀ[k, o0 … o0+15] · x_padded[pixel(p) + tap(k)]. Each step loads one vector of
/// 16 weights and multiplies it by one input value broadcast, for 8 output pixels at once (8
/// accumulators, 9 loads per 8 FMAs). The im2col + GEMM path spends most of its time around its GEMM on
/// such shapes: lenet5's conv2 (6→16, 5x5, 14x14 → 10x10) wrote a 150 x 100 column matrix per image with
/// one masked store per output row and tap (29 % of its forward), packed that matrix again for the
/// weight gradient (22 %), and ran 16 x 100 tiles whose last column panel is mostly padding.
/// Each output is one fused multiply-add chain over k in the column matrix's order starting from zero,
/// then + b, then ReLU: the GEMM micro-kernel's order, so where the GEMM takes k in one slice
/// (R ≤ <see cref="Gemm.KcMax"/>) the values are the im2col path's, bit for bit.
/// The weight gradient is the same loop turned round: dWᵀ[k, o0 … o0+15] += Σ_p dYᵀ[p, o0 … o0+15] ·
/// x_padded[pixel(p) + tap(k)], 8 taps at once, the pixels in order (two chains per tap over the even and the odd
/// pixels of an image, or of a run of up to 8 images on small planes: RunImages; added to the chunk's partial run by
/// run). A run of a 3x3 stride-1 layer with 16 outputs turns it round again, with 16 input channels in the lanes
/// (ChannelBlockedConv.InputLanes.cs). Written by hand: no .NET library has a convolution.
/// </summary>
/// <remarks>PyTorch: what oneDNN's direct convolution does for <c>F.conv2d</c> on such shapes.</remarks>
internal sealed unsafe partial class ChannelBlockedConv
{
    /// <summary>Output channels per vector.</summary>
    public const int Lanes = 16;

    // Output pixels per step of the forward, taps per step of the weight gradient (accumulators).
    private const int Block = 8;

    /// <summary>
    /// AVX-512, and output channels per group that fill whole vectors or one group: its last block of 16 is then padded (zero
    /// weights, its lanes past the outputs neither stored nor summed into dW). <see cref="ConvPlanner"/> chooses when it pays.
    /// </summary>
    public static bool Supports(in Conv2dGeometry g) => Avx512F.IsSupported && (FillsBlocks(g) || g.G == 1);

    /// <summary>Whether each group's output channels fill whole blocks of 16 (no padded lanes).</summary>
    public static bool FillsBlocks(in Conv2dGeometry g) => g.OCg % Lanes == 0;

    // One group's geometry (groups run one after the other on their slices of x, w, b and y), the groups, all outputs.
    private readonly Conv2dGeometry _g;
    private readonly int _groups, _allOutputs;
    private readonly int _blocked;  // a group's output channels rounded up to whole blocks of 16
    private readonly int[] _pixels; // pixel(p) for p < P, then pixel(P − 1) up to a whole block
    private readonly int[] _taps;   // tap(k) for k < R, then tap(R − 1) up to a whole block

    public ChannelBlockedConv(in Conv2dGeometry g)
    {
        if (!Supports(g)) throw new ArgumentException($"the channel-blocked convolution does not take {g}");
        (_g, _groups, _allOutputs, _blocked) = (g with { C = g.Cg, OC = g.OCg, G = 1 }, g.G, g.OC, Blocked(g.OCg));
        int p = g.ColCols, r = g.ColRows, wp = PaddedWidth;
        _pixels = new int[RoundUp(p)];
        for (int i = 0; i < _pixels.Length; i++)
        {
            int pixel = Math.Min(i, p - 1);
            _pixels[i] = pixel / g.OW * g.SH * wp + pixel % g.OW * g.SW;
        }
        _taps = new int[RoundUp(r)];
        for (int i = 0; i < _taps.Length; i++)
        {
            int k = Math.Min(i, r - 1), c = k / (g.KH * g.KW), u = k / g.KW % g.KH, v = k % g.KW;
            _taps[i] = c * PaddedHeight * wp + u * g.DH * wp + v * g.DW;
        }
        RunImages = RunImagesOf(_g, _groups, PaddedLength);
        _runPixels = RunPixels();
    }

    private int PaddedHeight => _g.H + 2 * _g.PH;
    private int PaddedWidth => _g.W + 2 * _g.PW;

    /// <summary>Floats of the padded-image scratch each thread needs (0 without padding: the input is read in place).</summary>
    public int PaddedLength => _g.PH == 0 && _g.PW == 0 ? 0 : _g.C * PaddedHeight * PaddedWidth;

    /// <summary>
    /// Floats of the weights packed for <see cref="ForwardImage"/>, and of the weight gradient's partial: OC·R (all groups), the
    /// output channels rounded up to whole blocks of 16.
    /// </summary>
    public int PackedLength => _groups * _blocked * _g.ColRows;

    private static int RoundUp(int n) => (n + Block - 1) / Block * Block;

    // Output channels rounded up to whole blocks of 16.
    private static int Blocked(int outputs) => (outputs + Lanes - 1) / Lanes * Lanes;


    /// <summary>
    /// The padded input of one image: the image itself without padding, else <paramref name="padded"/>
    /// (<see cref="PaddedLength"/> floats whose border is zero: only the inside is written).
    /// </summary>
    private float* Padded(float* x, float* padded)
    {
        if (PaddedLength == 0) return x;
        RowCopy.IntoPadded(x, _g.C, _g.H, _g.W, _g.PH, _g.PW, padded);
        return padded;
    }

    /// <summary>
    /// y [OC, P] = act(conv(x [C, H, W]) + bias) of one image (bias null: none), group by group. <paramref name="padded"/>:
    /// <see cref="PaddedLength"/> floats, zeroed once before the first image of a call. <paramref name="next"/>: the image the
    /// caller runs next (null: none), asked for into L2 a line at a time while this one runs (each group asks for the next
    /// group's input, the last for the next image's, during its first step: one of 32 channels, or of 16 with groups).
    /// </summary>
    public void ForwardImage(float* x, float* packed, float* bias, Rectifier relu, float* y, float* padded, float* next = null)
    {
        long xGroup = (long)_g.C * _g.H * _g.W, wGroup = (long)_blocked * _g.ColRows, yGroup = (long)_g.OC * _g.ColCols;
        for (int grp = 0; grp < _groups; grp++)
            ForwardGroup(x + grp * xGroup, packed + grp * wGroup, bias == null ? null : bias + grp * _g.OC, relu, y + grp * yGroup, padded,
                grp + 1 < _groups ? x + (grp + 1) * xGroup : next);
    }

    // Asks for `ahead` (the input read next: C·H·W floats, or null) during its first step where that takes 32 channels or there
    // are groups (a first step of 16 in one group asked for a small next image at a cost: lenet5's conv2 0.40 → 0.42 ms). Run
    // alone (a single image, not inside a loop over images on several threads), its steps of output channels go to the threads
    // and nothing is asked for.
    private void ForwardGroup(float* x, float* packed, float* bias, Rectifier relu, float* y, float* padded, float* ahead)
    {
        float* src = Padded(x, padded);
        int steps = (_blocked + 2 * Lanes - 1) / (2 * Lanes);   // every step but the last takes 32 channels: step i starts at 32·i
        long stepWork = 2L * Lanes * _g.ColCols * _g.ColRows;
        if (ThreadSplit.Pays(steps, stepWork, out int minChunk)) ForwardSteps(src, packed, bias, relu, y, steps, minChunk);
        else
            for (int i = 0; i < steps; i++) ForwardStep(src, packed, bias, relu, y, 2 * Lanes * i, i == 0 ? ahead : null);
    }

    // The steps on the threads (a method of its own: the loop's closure is allocated only where it runs).
    private void ForwardSteps(float* src, float* packed, float* bias, Rectifier relu, float* y, int steps, int minChunk)
    {
        nint xs = (nint)src, ws = (nint)packed, bs = (nint)bias, ys = (nint)y;
        Parallelism.For(steps, minChunk, (start, end) =>
        {
            for (int i = start; i < end; i++) ForwardStep((float*)xs, (float*)ws, (float*)bs, relu, (float*)ys, 2 * Lanes * i, null);
        });
    }

    // The step of output channels from o0 (32, or 16 where two vectors do not fill) over every pixel. A step with padded lanes
    // goes through the tile, whose rows past the outputs are not copied.
    private void ForwardStep(float* src, float* packed, float* bias, Rectifier relu, float* y, int o0, float* ahead)
    {
        int p = _g.ColCols, r = _g.ColRows;
        bool aliased = RowsAlias(p), padding = _blocked != _g.OC;
        float* tile = stackalloc float[aliased || padding ? 2 * Lanes * TileStride : 1];
        float* paddedBias = stackalloc float[2 * Lanes];
        float* weights = packed + (long)o0 * r;
        float* yBlock = y + (long)o0 * p, b = bias == null ? null : bias + o0;
        int width = StepWidth(o0, _blocked), valid = Math.Min(width, _g.OC - o0);
        if (b != null && valid < width) b = PadBias(b, valid, paddedBias);
        var stream = o0 == 0 && (width == 2 * Lanes || _groups > 1)
            ? PrefetchStream.Over(ahead, (long)_g.C * _g.H * _g.W, (long)RoundUp(p) / Block * r) : default;
        fixed (int* pixels = _pixels, taps = _taps)
            if (!aliased && valid == width) ForwardPixels(src, pixels, taps, weights, r, b, relu, yBlock, p, 0, p, width, stream);
            else
                for (int c0 = 0; c0 < p; c0 += TilePixels)
                {
                    int n = Math.Min(TilePixels, p - c0);
                    var chunkStream = stream.After((long)c0 / Block * r);
                    ForwardPixels(src, pixels + c0, taps, weights, r, b, relu, tile, TileStride, 0, n, width, chunkStream);
                    for (int o = 0; o < valid; o++) RowCopy.Copy(tile + o * TileStride, yBlock + (long)o * p + c0, n);
                }
    }

    // The `valid` biases of a step followed by zeros, in `padded` (32 floats).
    private static float* PadBias(float* bias, int valid, float* padded)
    {
        for (int o = 0; o < 2 * Lanes; o++) padded[o] = o < valid ? bias[o] : 0;
        return padded;
    }

    /// <summary>Channels the next step takes from <paramref name="first"/> of <paramref name="count"/>: 32 where two vectors fill, else 16.</summary>
    internal static int StepWidth(int first, int count) => first + 2 * Lanes <= count ? 2 * Lanes : Lanes;

    // Pixels [from, to) of 16 or 32 channels (width), into rows `stride` apart (also the direct dx's loop, on dy). Each block of
    // pixels asks for r lines' worth of `ahead` (default: none), a run of 16 pixels for 2·r.
    internal static void ForwardPixels(float* src, int* pixels, int* taps, float* weights, int r, float* b, Rectifier relu, float* y,
        int stride, int from, int to, int width, PrefetchStream ahead = default)
    {
        if (ahead.At == null) ForwardPixels<CacheLines.NoAhead>(src, pixels, taps, weights, r, b, relu, y, stride, from, to, width, default);
        else ForwardPixels<CacheLines.AskAhead>(src, pixels, taps, weights, r, b, relu, y, stride, from, to, width, ahead);
    }

    private static void ForwardPixels<TAhead>(float* src, int* pixels, int* taps, float* weights, int r, float* b, Rectifier relu, float* y,
        int stride, int from, int to, int width, PrefetchStream ahead) where TAhead : struct, CacheLines.IAhead
    {
        for (int p0 = from; p0 < to;)
        {
            if (width == 2 * Lanes && to - p0 <= Block / 2)
                ForwardBlockPair<FourPixels, TAhead>(src, pixels + p0, taps, weights, r, b, relu, y + p0, stride, to - p0, ahead);
            else if (width == 2 * Lanes)
                ForwardBlockPair<EightPixels, TAhead>(src, pixels + p0, taps, weights, r, b, relu, y + p0, stride, Math.Min(Block, to - p0), ahead);
            else if (ForwardRun<TAhead>(src, pixels + p0, taps, weights, r, b, relu, y + p0, stride, to - p0, ahead))
            {
                p0 += Run;
                if (TAhead.Asks) ahead = ahead.After(2L * r);
                continue;
            }
            else ForwardBlock<TAhead>(src, pixels + p0, taps, weights, r, b, relu, y + p0, stride, Math.Min(Block, to - p0), ahead);
            p0 += Block;
            if (TAhead.Asks) ahead = ahead.After(r);
        }
    }

    /// <summary>
    /// Whether rows of P floats put the 16 or 32 rows a block writes into too few of L1's sets (P·4 bytes a multiple
    /// of 2 KB: 64 sets of 12 ways, so 32 rows share 2 sets or 1). Such outputs go through a tile of
    /// <see cref="TilePixels"/> columns whose rows are <see cref="TileStride"/> floats apart, copied into y whole lines at a time.
    /// </summary>
    internal static bool RowsAlias(int p) => p % 512 == 0;

    internal const int TilePixels = 64, TileStride = TilePixels + 16;

    // Eight output pixels of 16 channels: eight fused multiply-add chains over the taps. With CacheLines.AskAhead each tap asks
    // for one line of `ahead`, as ForwardBlockPair's do (groups of 16 outputs ask for the next group's input).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ForwardBlock<TAhead>(float* src, int* pixels, int* taps, float* weights, int r, float* bias, Rectifier relu, float* y,
        int p, int count, PrefetchStream ahead) where TAhead : struct, CacheLines.IAhead
    {
        float* asked = ahead.At;
        nint askStep = ahead.Step;
        float* x0 = src + pixels[0], x1 = src + pixels[1], x2 = src + pixels[2], x3 = src + pixels[3];
        float* x4 = src + pixels[4], x5 = src + pixels[5], x6 = src + pixels[6], x7 = src + pixels[7];
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        // Pointers walked rather than indexed: a register fewer, so fewer pixel pointers are reloaded from the stack.
        for (int* tap = taps, end = taps + r; tap < end; tap++, weights += Lanes)
        {
            var wv = Vector512.Load(weights);
            nint t = *tap;
            if (TAhead.Asks) asked = PrefetchStream.Ask(asked, askStep);
            a0 = Vector512.FusedMultiplyAdd(wv, Vector512.Create(x0[t]), a0);
            a1 = Vector512.FusedMultiplyAdd(wv, Vector512.Create(x1[t]), a1);
            a2 = Vector512.FusedMultiplyAdd(wv, Vector512.Create(x2[t]), a2);
            a3 = Vector512.FusedMultiplyAdd(wv, Vector512.Create(x3[t]), a3);
            a4 = Vector512.FusedMultiplyAdd(wv, Vector512.Create(x4[t]), a4);
            a5 = Vector512.FusedMultiplyAdd(wv, Vector512.Create(x5[t]), a5);
            a6 = Vector512.FusedMultiplyAdd(wv, Vector512.Create(x6[t]), a6);
            a7 = Vector512.FusedMultiplyAdd(wv, Vector512.Create(x7[t]), a7);
        }
        float* block = stackalloc float[Block * Lanes];
        StoreBlock(a0, a1, a2, a3, a4, a5, a6, a7, bias, relu, y, p, count, block);
    }

    /// <summary>
    /// Rows r0 … r7 (8 pixels of 16 channels) stored as 16 rows of 8 floats, <paramref name="stride"/> apart:
    /// y[o·stride + i] = r_i[o]. The 8x8 transpose by unpacks and shuffles (done in each 128-bit lane, so for
    /// channels o, o + 4, o + 8, o + 12 at once), then each lane pair moved into place.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreTransposed(Vector512<float> r0, Vector512<float> r1, Vector512<float> r2, Vector512<float> r3,
        Vector512<float> r4, Vector512<float> r5, Vector512<float> r6, Vector512<float> r7, float* y, long stride)
    {
        TransposeInLanes(r0, r1, r2, r3, r4, r5, r6, r7,
            out var l0, out var h0, out var l1, out var h1, out var l2, out var h2, out var l3, out var h3);
        StoreColumns(l0, h0, y, stride);
        StoreColumns(l1, h1, y + stride, stride);
        StoreColumns(l2, h2, y + 2 * stride, stride);
        StoreColumns(l3, h3, y + 3 * stride, stride);
    }

    /// <summary>
    /// The 8x8 transpose's unpacks and shuffles, in each 128-bit lane: lowJ holds element j of the lane of rows
    /// r0 … r3, highJ of rows r4 … r7 (t0 = (r0[0], r1[0], r0[1], r1[1]), t1 = (r0[2], r1[2], r0[3], r1[3]), …).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TransposeInLanes(Vector512<float> r0, Vector512<float> r1, Vector512<float> r2, Vector512<float> r3,
        Vector512<float> r4, Vector512<float> r5, Vector512<float> r6, Vector512<float> r7,
        out Vector512<float> low0, out Vector512<float> high0, out Vector512<float> low1, out Vector512<float> high1,
        out Vector512<float> low2, out Vector512<float> high2, out Vector512<float> low3, out Vector512<float> high3)
    {
        Vector512<float> t0 = Avx512F.UnpackLow(r0, r1), t1 = Avx512F.UnpackHigh(r0, r1),
            t2 = Avx512F.UnpackLow(r2, r3), t3 = Avx512F.UnpackHigh(r2, r3);
        Vector512<float> t4 = Avx512F.UnpackLow(r4, r5), t5 = Avx512F.UnpackHigh(r4, r5),
            t6 = Avx512F.UnpackLow(r6, r7), t7 = Avx512F.UnpackHigh(r6, r7);
        (low0, high0) = (Avx512F.Shuffle(t0, t2, 0x44), Avx512F.Shuffle(t4, t6, 0x44));
        (low1, high1) = (Avx512F.Shuffle(t0, t2, 0xEE), Avx512F.Shuffle(t4, t6, 0xEE));
        (low2, high2) = (Avx512F.Shuffle(t1, t3, 0x44), Avx512F.Shuffle(t5, t7, 0x44));
        (low3, high3) = (Avx512F.Shuffle(t1, t3, 0xEE), Avx512F.Shuffle(t5, t7, 0xEE));
    }

    // Lane L of low (rows 0–3) and of high (rows 4–7) hold channel j + 4L: rows 0–7 of channels j, j + 4, j + 8, j + 12.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreColumns(Vector512<float> low, Vector512<float> high, float* y, long stride)
    {
        // (low.L0, low.L1, high.L0, high.L1) → (low.L0, high.L0, low.L1, high.L1), likewise lanes 2 and 3.
        var first = Avx512F.Shuffle4x128(low, high, 0x44);
        var second = Avx512F.Shuffle4x128(low, high, 0xEE);
        first = Avx512F.Shuffle4x128(first, first, 0xD8);
        second = Avx512F.Shuffle4x128(second, second, 0xD8);
        first.GetLower().Store(y);
        first.GetUpper().Store(y + 4 * stride);
        second.GetLower().Store(y + 8 * stride);
        second.GetUpper().Store(y + 12 * stride);
    }

    // + bias, then the rectifier, as the GEMM's epilogue does it.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Finish(Vector512<float> v, float* bias, Rectifier relu)
    {
        if (bias != null) v += Vector512.Load(bias);
        return relu.Apply(v);
    }
}
