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
    /// Whether the values alone of a pool take <see cref="ForwardPlaneRows3x3"/>: 3x3 windows, stride 2, padding 1 (the ResNet
    /// stem's pool), planes up to 32 wide, and the floor-mode output size.
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
                float* row = x + (long)r * w;
                var low = w >= 16 ? Vector512.Load(row) : Avx512F.MaskLoad(row, lowMask, negInf);
                var high = w > 16 ? Avx512F.MaskLoad(row + 16, highMask, negInf) : negInf;
                nan |= Avx512F.CompareUnordered(low, high);
                var b = Avx512F.PermuteVar16x32x2(low, evens, high);
                var c = Avx512F.PermuteVar16x32x2(low, odds, high);
                var a = Avx512F.AlignRight32(c.AsInt32(), negInf.AsInt32(), 15).AsSingle();
                best = Avx512F.Max(a, best);
                best = Avx512F.Max(b, best);
                best = Avx512F.Max(c, best);
            }
            Avx512F.MaskStore(y + (long)i * ow, store, best);
        }
        return nan == Vector512<float>.Zero;
    }

    // Planes start … end − 1 by ForwardPlaneRows3x3, a plane with a NaN by the gathered general loop (indices to a scratch).
    private static unsafe void ForwardPlanesRows3x3(in Pool2dGeometry g, float* x, float* y, int start, int end)
    {
        int hw = g.H * g.W, oh = g.OH, ow = g.OW, ohw = oh * ow;
        int[]? spare = null;
        for (int plane = start; plane < end; plane++)
        {
            float* xp = x + (long)plane * hw, yp = y + (long)plane * ohw;
            if (ForwardPlaneRows3x3(g.H, g.W, oh, ow, xp, yp)) continue;
            spare ??= ArrayPool<int>.Shared.Rent(ohw);
            fixed (int* s = spare) ForwardPlaneGathered(g, xp, yp, s);
        }
        if (spare is not null) ArrayPool<int>.Shared.Return(spare);
    }
}
