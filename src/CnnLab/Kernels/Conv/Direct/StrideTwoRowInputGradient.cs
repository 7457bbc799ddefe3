using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend as in Conv2dKernel.cs; a phase (ry, rx): the dx pixels y = ry + a·SH, x = rx + 2b (A rows, B0 = ⌈W/2⌉ or B1 = ⌊W/2⌋
// columns of them); dy is copied into a plane padded by (MH, MW) zeros, Hq x Wq, so that every read a stored lane needs
// lands inside it (InputGradientPhases).

/// <summary>
/// The input gradient of a convolution of stride 2 in x with 16 pixels of a phase row per vector:
/// dx[c, y, x] = Σ_{o, kh, kw} w[o, c, kh, kw] · dy[o, (y + PH − kh·DH)/SH, (x + PW − kw·DW)/2] over the taps whose divisions
/// are exact. Within a phase every tap (o, kh, kw) reads dy at a fixed offset from the pixel (a, b), so a vector of 16
/// consecutive b takes one load per tap. A step holds both column phases of 2 phase rows and 8 input channels (16
/// accumulators a phase): per tap 2 loads and 8 broadcast weights feed 16 FMAs, and the two phases' vectors are interleaved
/// (one two-source permute per 16 outputs) into whole dx rows, so no phase scratch is written and merged row by row. The
/// channel-blocked dx (<see cref="ChannelBlockedInputGradient"/>) puts channels in the lanes instead: with 16 of them, one
/// broadcast per FMA. Each dx is one fused multiply-add chain over its phase's taps in the order (o, kh, kw) from zero, then
/// added to dx or written over it: <see cref="ChannelBlockedInputGradient"/>'s sums, so the same bits as it and within
/// rounding of <see cref="Conv2dReference"/>, for any thread count. Written by hand: no .NET library has a convolution.
/// </summary>
/// <remarks>PyTorch: <c>torch.nn.grad.conv2d_input</c>; oneDNN's backward-data kernels split a strided one into such phases.</remarks>
internal sealed unsafe class StrideTwoRowInputGradient
{
    private const int Lanes = 16, Channels = 8, Rows = 2;

    /// <summary>Stride 2 in x, at least 2 columns, and AVX-512 (<see cref="ConvPlanner"/> chooses when it pays).</summary>
    public static bool Supports(in Conv2dGeometry g) => Avx512F.IsSupported && g.SW == 2 && g.W >= 2;

    // A phase row's taps for both column phases: dy offsets, and the weights [⌈C/8⌉, taps, 8] (zero past the last channel).
    private sealed record RowPhase(int Ry, int Rows, int[] Even, float[] EvenWeights, int[] Odd, float[] OddWeights);

    // A step: phase rows A0 and A0 + 1 (Rows of them) of row phase Phase, vector V of its columns, the block of 8 channels from
    // Block·8 (Channels of them); it writes Width floats of Rows·Channels dx rows from Dx (floats from the group's dx).
    private readonly record struct Place(int Phase, int A0, int Rows, int V, int Block, int Channels, int Width, long Dx);

    private readonly Conv2dGeometry _g;   // one group's
    private readonly int _groups;
    private readonly InputGradientPhases _layout;
    private readonly RowPhase[] _phases;
    private readonly Place[] _places;     // a group's steps in the order they run

    public StrideTwoRowInputGradient(in Conv2dGeometry g, ReadOnlySpan<float> w)
    {
        if (!Supports(g)) throw new ArgumentException($"the stride-2 row input gradient does not take {g}");
        (_g, _groups) = (g with { C = g.Cg, OC = g.OCg, G = 1 }, g.G);
        _layout = new InputGradientPhases(_g, readPast: Lanes);
        _phases = new RowPhase[_layout.RowPhases.Length * _groups];
        int length = g.OCg * g.ColRows;
        for (int grp = 0; grp < _groups; grp++)
            for (int i = 0; i < _layout.RowPhases.Length; i++)
            {
                var group = w.Slice(grp * length, length);
                var (ry, kh, dh) = _layout.RowPhases[i];
                var (_, evenKw, evenDw) = _layout.ColumnPhases[0];
                var (_, oddKw, oddDw) = _layout.ColumnPhases[1];
                var (even, evenWeights) = _layout.Taps(kh, dh, evenKw, evenDw, group, Channels);
                var (odd, oddWeights) = _layout.Taps(kh, dh, oddKw, oddDw, group, Channels);
                int rows = InputGradientPhases.Count(_g.H, ry, _g.SH);
                _phases[grp * _layout.RowPhases.Length + i] = new RowPhase(ry, rows, even, evenWeights, odd, oddWeights);
            }
        _places = Places();
    }

    // Each pair of phase rows of every row phase before the next pair: the dx rows a step writes share their lines with the next
    // phase's, which are then written while in cache.
    private Place[] Places()
    {
        var g = _g;
        int phases = _layout.RowPhases.Length, blocks = (g.C + Channels - 1) / Channels;
        int vectors = (_layout.Columns(0) + Lanes - 1) / Lanes, most = _phases.Take(phases).Max(phase => phase.Rows);
        var places = new List<Place>();
        for (int a0 = 0; a0 < most; a0 += Rows)
            for (int i = 0; i < phases; i++)
                for (int v = 0; v < vectors && a0 < _phases[i].Rows; v++)
                    for (int block = 0; block < blocks; block++)
                    {
                        long dx = ((long)block * Channels * g.H + _phases[i].Ry + a0 * g.SH) * g.W + 2 * v * Lanes;
                        places.Add(new Place(i, a0, Math.Min(Rows, _phases[i].Rows - a0), v, block, Math.Min(Channels, g.C - block * Channels),
                            Math.Min(2 * Lanes, g.W - 2 * v * Lanes), dx));
                    }
        return [.. places];
    }

    /// <summary>Floats of the padded dy plane set each thread needs (zero it once: only its inside is written).</summary>
    public int PaddedLength => _layout.PaddedLength;

    /// <summary>
    /// dx_g [Cg, H, W] (+)= the input gradient of group <paramref name="grp"/> from its dy_g [OCg, OH, OW]. <paramref name="nextDx"/>:
    /// the Cg·H·W floats of dx the caller writes next (null: none), whose first step's rows the last step asks for.
    /// </summary>
    public void Group(int grp, float* dy, float* dx, bool accumulate, float* padded, float* nextDx = null)
    {
        _layout.CopyIn(dy, padded);
        float* sums = stackalloc float[2 * Rows * Channels * Lanes];
        float** lines = stackalloc float*[LinesPerRow * Rows * Channels];
        for (int s = 0; s < _places.Length; s++)
        {
            var place = _places[s];
            var phase = _phases[grp * _layout.RowPhases.Length + place.Phase];
            // The dx the next step writes, asked for a line a tap while this one runs: dx is a fresh buffer, and a store to a
            // line not in cache first waits for it.
            int asked = s + 1 < _places.Length ? Lines(dx, _places[s + 1], lines) : nextDx != null ? Lines(nextDx, _places[0], lines) : 0;
            if (asked == 0) lines[asked++] = padded;
            fixed (int* even = phase.Even, odd = phase.Odd)
            fixed (float* evenWeights = phase.EvenWeights, oddWeights = phase.OddWeights)
                Step(padded + place.A0 * _layout.PaddedWidth + place.V * Lanes, place.Rows,
                    even, evenWeights + (long)place.Block * phase.Even.Length * Channels, phase.Even.Length,
                    odd, oddWeights + (long)place.Block * phase.Odd.Length * Channels, phase.Odd.Length,
                    dx + place.Dx, place.Width, place.Channels, accumulate, sums, lines, lines + asked - 1);
        }
    }

    private const int LinesPerRow = 3;   // a row of up to 32 floats spans at most 3 lines

    // The lines of the dx rows `place` writes from `dx` into `lines`; returns how many.
    private int Lines(float* dx, in Place place, float** lines)
    {
        long plane = (long)_g.H * _g.W, row = (long)_g.SH * _g.W;
        int count = 0;
        for (int c = 0; c < place.Channels; c++)
            for (int r = 0; r < place.Rows; r++)
            {
                float* first = dx + place.Dx + c * plane + r * row;
                lines[count++] = first;
                lines[count++] = first + Lanes;
                lines[count++] = first + place.Width - 1;
            }
        return count;
    }

    // Both column phases of `rows` phase rows (1 or 2; a missing one recomputes the first) and 8 channels, into `width` floats
    // of dx rows. Two rows a step waste none of 14 or 16 phase rows (three wasted one of 15 or two of 18, 7-10 % slower).
    // Each phase's 16 chains run in a loop of their own and park in `sums` ([phase, row, channel] vectors): with
    // both phases' chains live in one method the JIT kept them in memory through the loops. Each tap asks for one of the
    // lines from `ask` to `last` (the last again once all are asked for).
    private void Step(float* src, int rows, int* even, float* evenWeights, int evenTaps, int* odd, float* oddWeights, int oddTaps,
        float* dx, int width, int channels, bool accumulate, float* sums, float** ask, float** last)
    {
        nint r1 = Math.Min(1, rows - 1) * _layout.PaddedWidth;
        ask = Chains(src, r1, even, evenWeights, evenTaps, sums, ask, last);
        Chains(src, r1, odd, oddWeights, oddTaps, sums + Rows * Channels * Lanes, ask, last);
        long plane = (long)_g.H * _g.W, row = (long)_g.SH * _g.W;
        for (int c = 0; c < channels; c++)
            for (int r = 0; r < rows; r++)
            {
                float* at = sums + (r * Channels + c) * Lanes;
                StoreRow(Vector512.Load(at), Vector512.Load(at + Rows * Channels * Lanes), dx + c * plane + r * row, width, accumulate);
            }
    }

    // One phase's 16 chains: 2 rows (r1 floats apart) by 8 channels over its taps, into sums [row, channel]; returns where the
    // asks go on.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float** Chains(float* src, nint r1, int* taps, float* weights, int count, float* sums, float** ask, float** last)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default, b6 = default, b7 = default;
        for (int* tap = taps, end = taps + count; tap < end; tap++, weights += Channels)
        {
            float* at = src + *tap;
            Sse.Prefetch0(*ask);
            ask += ask < last ? 1 : 0;
            Vector512<float> u = Vector512.Load(at), v = Vector512.Load(at + r1);
            var w = Vector512.Create(weights[0]);
            a0 = Vector512.FusedMultiplyAdd(w, u, a0); b0 = Vector512.FusedMultiplyAdd(w, v, b0);
            w = Vector512.Create(weights[1]);
            a1 = Vector512.FusedMultiplyAdd(w, u, a1); b1 = Vector512.FusedMultiplyAdd(w, v, b1);
            w = Vector512.Create(weights[2]);
            a2 = Vector512.FusedMultiplyAdd(w, u, a2); b2 = Vector512.FusedMultiplyAdd(w, v, b2);
            w = Vector512.Create(weights[3]);
            a3 = Vector512.FusedMultiplyAdd(w, u, a3); b3 = Vector512.FusedMultiplyAdd(w, v, b3);
            w = Vector512.Create(weights[4]);
            a4 = Vector512.FusedMultiplyAdd(w, u, a4); b4 = Vector512.FusedMultiplyAdd(w, v, b4);
            w = Vector512.Create(weights[5]);
            a5 = Vector512.FusedMultiplyAdd(w, u, a5); b5 = Vector512.FusedMultiplyAdd(w, v, b5);
            w = Vector512.Create(weights[6]);
            a6 = Vector512.FusedMultiplyAdd(w, u, a6); b6 = Vector512.FusedMultiplyAdd(w, v, b6);
            w = Vector512.Create(weights[7]);
            a7 = Vector512.FusedMultiplyAdd(w, u, a7); b7 = Vector512.FusedMultiplyAdd(w, v, b7);
        }
        Park(a0, a1, a2, a3, a4, a5, a6, a7, sums);
        Park(b0, b1, b2, b3, b4, b5, b6, b7, sums + Channels * Lanes);
        return ask;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Park(Vector512<float> s0, Vector512<float> s1, Vector512<float> s2, Vector512<float> s3, Vector512<float> s4,
        Vector512<float> s5, Vector512<float> s6, Vector512<float> s7, float* sums)
    {
        s0.Store(sums); s1.Store(sums + Lanes); s2.Store(sums + 2 * Lanes); s3.Store(sums + 3 * Lanes);
        s4.Store(sums + 4 * Lanes); s5.Store(sums + 5 * Lanes); s6.Store(sums + 6 * Lanes); s7.Store(sums + 7 * Lanes);
    }

    private static readonly Vector512<int> Low = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    private static readonly Vector512<int> High = Vector512.Create(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);

    // dx[2b] (+)= even[b], dx[2b + 1] (+)= odd[b] for the first `width` floats of a dx row (at most 32).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(Vector512<float> even, Vector512<float> odd, float* dx, int width, bool accumulate)
    {
        var low = Avx512F.PermuteVar16x32x2(even, Low, odd);
        var high = Avx512F.PermuteVar16x32x2(even, High, odd);
        if (width >= 2 * Lanes)
        {
            if (accumulate) (low, high) = (Vector512.Load(dx) + low, Vector512.Load(dx + Lanes) + high);
            low.Store(dx);
            high.Store(dx + Lanes);
            return;
        }
        var lowMask = LaneMask.First(width).AsSingle();
        if (accumulate) low = Avx512F.MaskLoad(dx, lowMask, Vector512<float>.Zero) + low;
        Avx512F.MaskStore(dx, lowMask, low);
        if (width <= Lanes) return;
        var highMask = LaneMask.First(width - Lanes).AsSingle();
        if (accumulate) high = Avx512F.MaskLoad(dx + Lanes, highMask, Vector512<float>.Zero) + high;
        Avx512F.MaskStore(dx + Lanes, highMask, high);
    }
}
