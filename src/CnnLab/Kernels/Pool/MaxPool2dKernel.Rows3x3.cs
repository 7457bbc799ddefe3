using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend: a plane of H x W (W ≤ 32) pooled by 3x3 windows, stride 2, padding 1: output row i reads input rows 2i − 1 … 2i + 1,
// output column j input columns 2j − 1 … 2j + 1 (a, b, c: the window's left, middle and right taps).

public static partial class MaxPool2dKernel
{
    /// <summary>
    /// Whether a pool takes <see cref="ForwardPlaneRows3x3"/> (or, with indices, <see cref="ForwardPlaneRows3x3WithIndices"/>):
    /// 3x3 windows, stride 2, padding 1 (the ResNet stem's pool), planes up to 32 wide, and the floor-mode output size.
    /// </summary>
    private static bool PoolsRows3x3(in Pool2dGeometry g) =>
        Avx512F.IsSupported && g is { KH: 3, KW: 3, SH: 2, SW: 2, PH: 1, PW: 1, DH: 1, DW: 1 } && g.W <= 32
        && g.OH == (g.H - 1) / 2 + 1 && g.OW == (g.W - 1) / 2 + 1;

    /// <summary>
    /// The values of one plane, an output row per vector: each of its three input rows is loaded once (two vectors, −∞
    /// past the row), deinterleaved into its even and odd columns (the window's middle and right taps, b and c), the odd ones
    /// moved up a lane for the left taps (a, −∞ in lane 0: the padding). The nine taps are taken in row-major order by
    /// <c>vmaxps v, best</c> (v &gt; best ? v : best), the general loop's rule without a NaN; so the same bits. Where a
    /// NaN is among the plane's values, returns false: the caller pools that plane by the general loop. On planes this
    /// small, reading rows in place beat the 16-plane blocks' transpose (bench/RESULTS.md).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe bool ForwardPlaneRows3x3(int h, int w, int oh, int ow, float* x, float* y)
    {
        var negInf = Vector512.Create(float.NegativeInfinity);
        var evens = Vector512<int>.Indices * 2;
        var odds = evens + Vector512<int>.One;
        var lowMask = LaneMask.First(Math.Min(w, 16)).AsSingle();
        var highMask = LaneMask.First(Math.Max(w - 16, 0)).AsSingle();
        var store = LaneMask.First(ow).AsSingle();
        var nan = Vector512<float>.Zero;
        for (int i = 0; i < oh; i++)
        {
            var best = negInf;
            for (int r = 2 * i - 1; r <= 2 * i + 1; r++)
            {
                if ((uint)r >= (uint)h) continue;   // the padding: −∞, never taken
                RowTaps(x + (long)r * w, w, lowMask, highMask, evens, odds, negInf, ref nan, out var a, out var b, out var c);
                best = Avx512F.Max(a, best);
                best = Avx512F.Max(b, best);
                best = Avx512F.Max(c, best);
            }
            Avx512F.MaskStore(y + (long)i * ow, store, best);
        }
        return nan == Vector512<float>.Zero;
    }

    /// <summary>
    /// <see cref="ForwardPlaneRows3x3"/> with each maximum's index in the plane (training): every window starts from its first
    /// tap inside the plane (the left one, or the middle one in column 0) and takes a later tap only where it is strictly
    /// greater, the general loop's rule without a NaN; so the same values and indices. Returns false where a NaN is among
    /// the plane's values.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe bool ForwardPlaneRows3x3WithIndices(int h, int w, int oh, int ow, float* x, float* y, int* idx)
    {
        var negInf = Vector512.Create(float.NegativeInfinity);
        var evens = Vector512<int>.Indices * 2;
        var odds = evens + Vector512<int>.One;
        var lowMask = LaneMask.First(Math.Min(w, 16)).AsSingle();
        var highMask = LaneMask.First(Math.Max(w - 16, 0)).AsSingle();
        var store = LaneMask.First(ow);
        var firstLane = LaneMask.First(1);
        var nan = Vector512<float>.Zero;
        for (int i = 0; i < oh; i++)
        {
            Vector512<float> best = default;
            Vector512<int> at = default;
            for (int r = Math.Max(2 * i - 1, 0); r <= Math.Min(2 * i + 1, h - 1); r++)
            {
                RowTaps(x + (long)r * w, w, lowMask, highMask, evens, odds, negInf, ref nan, out var a, out var b, out var c);
                var atB = Vector512.Create(r * w) + evens;
                if (r == Math.Max(2 * i - 1, 0))
                {
                    // The window's first tap in the plane: the left one, in column 0 the middle one (the left is padding).
                    best = Vector512.ConditionalSelect(firstLane.AsSingle(), b, a);
                    at = Vector512.ConditionalSelect(firstLane, atB, atB - Vector512<int>.One);
                }
                else Take(a, atB - Vector512<int>.One, ref best, ref at);
                Take(b, atB, ref best, ref at);
                Take(c, atB + Vector512<int>.One, ref best, ref at);
            }
            Avx512F.MaskStore(y + (long)i * ow, store.AsSingle(), best);
            Avx512F.MaskStore(idx + (long)i * ow, store, at);
        }
        return nan == Vector512<float>.Zero;
    }

    // One input row of w ≤ 32 floats, loaded once (−∞ past the row; the masks: its first min(w, 16) and w − 16 lanes) and
    // split into the taps of its output row's windows: b the middle ones (even columns), c the right ones (odd columns), a
    // the left ones (c a lane up, −∞ in lane 0: the padding). evens, odds: 0, 2, …, 30 and 1, 3, …, 31. nan gains the
    // row's unordered lanes. The constants come in as arguments: made here, they cost the values-only loop about 5 %.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void RowTaps(float* row, int w, Vector512<float> lowMask, Vector512<float> highMask, Vector512<int> evens,
        Vector512<int> odds, Vector512<float> negInf, ref Vector512<float> nan, out Vector512<float> a, out Vector512<float> b,
        out Vector512<float> c)
    {
        var low = w >= 16 ? Vector512.Load(row) : Avx512F.MaskLoad(row, lowMask, negInf);
        var high = w > 16 ? Avx512F.MaskLoad(row + 16, highMask, negInf) : negInf;
        nan |= Avx512F.CompareUnordered(low, high);
        b = Avx512F.PermuteVar16x32x2(low, evens, high);
        c = Avx512F.PermuteVar16x32x2(low, odds, high);
        a = Avx512F.AlignRight32(c.AsInt32(), negInf.AsInt32(), 15).AsSingle();
    }

    // best, at = v, its index where v > best (no NaN here).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Take(Vector512<float> v, Vector512<int> vAt, ref Vector512<float> best, ref Vector512<int> at)
    {
        var take = Avx512F.CompareGreaterThan(v, best).AsInt32();
        best = Avx512F.Max(v, best);
        at = Vector512.ConditionalSelect(take, vAt, at);
    }

    // Planes start … end − 1 by ForwardPlaneRows3x3 (with indices where idx is not null), a plane with a NaN by the gathered
    // general loop (its indices to idx, or to a scratch).
    private static unsafe void ForwardPlanesRows3x3(in Pool2dGeometry g, float* x, float* y, int* idx, int start, int end)
    {
        int hw = g.H * g.W, oh = g.OH, ow = g.OW, ohw = oh * ow;
        int[]? spare = null;
        for (int plane = start; plane < end; plane++)
        {
            float* xp = x + (long)plane * hw, yp = y + (long)plane * ohw;
            int* ip = idx == null ? null : idx + (long)plane * ohw;
            bool done = ip == null ? ForwardPlaneRows3x3(g.H, g.W, oh, ow, xp, yp) : ForwardPlaneRows3x3WithIndices(g.H, g.W, oh, ow, xp, yp, ip);
            if (done) continue;
            if (ip != null)
            {
                ForwardPlaneGathered(g, xp, yp, ip);
                continue;
            }
            spare ??= ArrayPool<int>.Shared.Rent(ohw);
            fixed (int* s = spare) ForwardPlaneGathered(g, xp, yp, s);
        }
        if (spare is not null) ArrayPool<int>.Shared.Return(spare);
    }
}
