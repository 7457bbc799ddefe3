using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

internal static unsafe partial class DepthwiseConv
{
    /// <summary>
    /// <see cref="GatherRows"/>'s forward for the commonest depthwise layer, a 3x3 kernel at stride 1 without dilation on planes
    /// wider than one vector: dst[q·dstRow + m] = act(init + Σ_{kh, kw} wt[kh·3 + kw] · src[(q + kh)·srcRow + m + kw]). A tile is
    /// 4 output rows × 2 vectors, as there, but each of its 6 input rows is loaded once for the up to 3 output rows it feeds
    /// (36 loads for 72 FMAs, where the tap-by-tap loop loads 72). Each sum adds the taps in (kh, kw) order, as GatherRows does:
    /// the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GatherRows3x3(float* src, long srcRow, float* wt, float init, bool relu, float* dst, long dstRow, int rows, int cols)
    {
        Vector512<float> w0 = Vector512.Create(wt[0]), w1 = Vector512.Create(wt[1]), w2 = Vector512.Create(wt[2]);
        Vector512<float> w3 = Vector512.Create(wt[3]), w4 = Vector512.Create(wt[4]), w5 = Vector512.Create(wt[5]);
        Vector512<float> w6 = Vector512.Create(wt[6]), w7 = Vector512.Create(wt[7]), w8 = Vector512.Create(wt[8]);
        var start = Vector512.Create(init);
        for (int q = 0; q < rows; q += 4)
            for (int m = 0; m < cols; m += 32)
            {
                float* s = src + q * srcRow + m;
                Vector512<float> a0 = start, a1 = start, a2 = start, a3 = start, b0 = start, b1 = start, b2 = start, b3 = start;
                // Input row r feeds output row j with kernel row r − j.
                Row(s, ref a0, ref b0, w0, w1, w2);
                s += srcRow;
                Row(s, ref a0, ref b0, w3, w4, w5, ref a1, ref b1, w0, w1, w2);
                s += srcRow;
                Row(s, ref a0, ref b0, w6, w7, w8, ref a1, ref b1, w3, w4, w5, ref a2, ref b2, w0, w1, w2);
                s += srcRow;
                Row(s, ref a1, ref b1, w6, w7, w8, ref a2, ref b2, w3, w4, w5, ref a3, ref b3, w0, w1, w2);
                s += srcRow;
                Row(s, ref a2, ref b2, w6, w7, w8, ref a3, ref b3, w3, w4, w5);
                s += srcRow;
                Row(s, ref a3, ref b3, w6, w7, w8);
                if (relu)
                {
                    var zero = Vector512<float>.Zero;
                    (a0, a1, a2, a3) = (Vector512.Max(a0, zero), Vector512.Max(a1, zero), Vector512.Max(a2, zero), Vector512.Max(a3, zero));
                    (b0, b1, b2, b3) = (Vector512.Max(b0, zero), Vector512.Max(b1, zero), Vector512.Max(b2, zero), Vector512.Max(b3, zero));
                }
                float* d = dst + q * dstRow + m;
                int left = rows - q;
                if (left >= 4 && cols - m >= 32)
                {
                    a0.Store(d); b0.Store(d + 16);
                    a1.Store(d + dstRow); b1.Store(d + dstRow + 16);
                    a2.Store(d + 2 * dstRow); b2.Store(d + 2 * dstRow + 16);
                    a3.Store(d + 3 * dstRow); b3.Store(d + 3 * dstRow + 16);
                    continue;
                }
                Vector512<float> first = LaneMask.First(cols - m).AsSingle(), second = LaneMask.First(cols - m - 16).AsSingle();
                Avx512F.MaskStore(d, first, a0);
                Avx512F.MaskStore(d + 16, second, b0);
                if (left > 1) { Avx512F.MaskStore(d + dstRow, first, a1); Avx512F.MaskStore(d + dstRow + 16, second, b1); }
                if (left > 2) { Avx512F.MaskStore(d + 2 * dstRow, first, a2); Avx512F.MaskStore(d + 2 * dstRow + 16, second, b2); }
                if (left > 3) { Avx512F.MaskStore(d + 3 * dstRow, first, a3); Avx512F.MaskStore(d + 3 * dstRow + 16, second, b3); }
            }
    }

    // The taps of one input row (its three columns, two vectors each) into the sums of the output rows it feeds, each with the
    // weights of the kernel row it is for.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row(float* s, ref Vector512<float> a, ref Vector512<float> b, Vector512<float> k0, Vector512<float> k1, Vector512<float> k2)
    {
        Vector512<float> x0 = Vector512.Load(s), x1 = Vector512.Load(s + 1), x2 = Vector512.Load(s + 2);
        Vector512<float> y0 = Vector512.Load(s + 16), y1 = Vector512.Load(s + 17), y2 = Vector512.Load(s + 18);
        Taps(ref a, ref b, x0, x1, x2, y0, y1, y2, k0, k1, k2);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row(float* s, ref Vector512<float> a, ref Vector512<float> b, Vector512<float> k0, Vector512<float> k1, Vector512<float> k2,
        ref Vector512<float> c, ref Vector512<float> e, Vector512<float> l0, Vector512<float> l1, Vector512<float> l2)
    {
        Vector512<float> x0 = Vector512.Load(s), x1 = Vector512.Load(s + 1), x2 = Vector512.Load(s + 2);
        Vector512<float> y0 = Vector512.Load(s + 16), y1 = Vector512.Load(s + 17), y2 = Vector512.Load(s + 18);
        Taps(ref a, ref b, x0, x1, x2, y0, y1, y2, k0, k1, k2);
        Taps(ref c, ref e, x0, x1, x2, y0, y1, y2, l0, l1, l2);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row(float* s, ref Vector512<float> a, ref Vector512<float> b, Vector512<float> k0, Vector512<float> k1, Vector512<float> k2,
        ref Vector512<float> c, ref Vector512<float> e, Vector512<float> l0, Vector512<float> l1, Vector512<float> l2,
        ref Vector512<float> f, ref Vector512<float> g, Vector512<float> n0, Vector512<float> n1, Vector512<float> n2)
    {
        Vector512<float> x0 = Vector512.Load(s), x1 = Vector512.Load(s + 1), x2 = Vector512.Load(s + 2);
        Vector512<float> y0 = Vector512.Load(s + 16), y1 = Vector512.Load(s + 17), y2 = Vector512.Load(s + 18);
        Taps(ref a, ref b, x0, x1, x2, y0, y1, y2, k0, k1, k2);
        Taps(ref c, ref e, x0, x1, x2, y0, y1, y2, l0, l1, l2);
        Taps(ref f, ref g, x0, x1, x2, y0, y1, y2, n0, n1, n2);
    }

    // a += k0·x0 + k1·x1 + k2·x2 and b likewise with the y's, one FMA at a time in kw order.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Taps(ref Vector512<float> a, ref Vector512<float> b, Vector512<float> x0, Vector512<float> x1, Vector512<float> x2,
        Vector512<float> y0, Vector512<float> y1, Vector512<float> y2, Vector512<float> k0, Vector512<float> k1, Vector512<float> k2)
    {
        a = Vector512.FusedMultiplyAdd(k0, x0, a);
        b = Vector512.FusedMultiplyAdd(k0, y0, b);
        a = Vector512.FusedMultiplyAdd(k1, x1, a);
        b = Vector512.FusedMultiplyAdd(k1, y1, b);
        a = Vector512.FusedMultiplyAdd(k2, x2, a);
        b = Vector512.FusedMultiplyAdd(k2, y2, b);
    }
}
