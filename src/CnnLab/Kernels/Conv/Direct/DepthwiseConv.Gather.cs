using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

internal static unsafe partial class DepthwiseConv
{
    /// <summary>
    /// dst[q·dstRow + m] = act(s₀ + Σ_t wt[t] · src[q·srcRow + m + off[t]]) for q &lt; rows, m &lt; cols, the taps added in
    /// order by FMAs onto s₀ = <paramref name="init"/>, or onto the old dst with <paramref name="accumulate"/>; act is ReLU
    /// with <paramref name="relu"/>. The forward (src the phased plane) and the input gradient (src the padded dy) both
    /// are this loop. One tile is 8 sums, 16 columns each, in registers: 4 rows × 2 column vectors, or 8 rows × 1 vector
    /// where that wastes fewer lanes (narrow planes), so that 8 independent FMA chains hide the FMA latency.
    /// Tiles past the last row or column compute and drop garbage: src needs <see cref="TileSlack"/> readable floats past
    /// its last row, dst none (stores are masked).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GatherRows(float* src, long srcRow, int* off, float* wt, int taps, float init, bool relu, bool accumulate,
        float* dst, long dstRow, int rows, int cols)
    {
        if (!Vector512.IsHardwareAccelerated)
        {
            GatherRowsScalar(src, srcRow, off, wt, taps, init, relu, accumulate, dst, dstRow, rows, cols);
            return;
        }
        int vectors = (cols + 15) / 16;
        // The tile's second 4 sums lie 16 columns on (wide) or 4 rows down (narrow): whichever needs fewer tiles.
        bool narrow = (rows + 7) / 8 * vectors < (rows + 3) / 4 * ((vectors + 1) / 2);
        int rowShift = narrow ? 4 : 0, colShift = narrow ? 0 : 16;
        long vs = rowShift * srcRow + colShift, dvs = rowShift * dstRow + colShift;
        var start = Vector512.Create(init);
        for (int q = 0; q < rows; q += 4 + rowShift)
            for (int m = 0; m < cols; m += 16 + colShift)
            {
                // Masks of the two groups' columns, cleared for rows past the last (row q + a, or q + 4 + a).
                var first = LaneMask.First(cols - m).AsSingle();
                var second = narrow ? first : LaneMask.First(cols - m - 16).AsSingle();
                int left = rows - q;
                var m0 = first;
                var m1 = left > 1 ? first : default;
                var m2 = left > 2 ? first : default;
                var m3 = left > 3 ? first : default;
                var m4 = left > rowShift ? second : default;
                var m5 = left > rowShift + 1 ? second : default;
                var m6 = left > rowShift + 2 ? second : default;
                var m7 = left > rowShift + 3 ? second : default;
                float* s = src + q * srcRow + m, d = dst + q * dstRow + m, d2 = d + dvs;
                Vector512<float> a0 = start, a1 = start, a2 = start, a3 = start, a4 = start, a5 = start, a6 = start, a7 = start;
                if (accumulate)
                {
                    a0 = Avx512F.MaskLoad(d, m0, default);
                    a1 = Avx512F.MaskLoad(d + dstRow, m1, default);
                    a2 = Avx512F.MaskLoad(d + 2 * dstRow, m2, default);
                    a3 = Avx512F.MaskLoad(d + 3 * dstRow, m3, default);
                    a4 = Avx512F.MaskLoad(d2, m4, default);
                    a5 = Avx512F.MaskLoad(d2 + dstRow, m5, default);
                    a6 = Avx512F.MaskLoad(d2 + 2 * dstRow, m6, default);
                    a7 = Avx512F.MaskLoad(d2 + 3 * dstRow, m7, default);
                }
                for (int t = 0; t < taps; t++)
                {
                    float* p = s + off[t], p2 = p + vs;
                    var w = Vector512.Create(wt[t]);
                    a0 = Vector512.FusedMultiplyAdd(w, Vector512.Load(p), a0);
                    a1 = Vector512.FusedMultiplyAdd(w, Vector512.Load(p + srcRow), a1);
                    a2 = Vector512.FusedMultiplyAdd(w, Vector512.Load(p + 2 * srcRow), a2);
                    a3 = Vector512.FusedMultiplyAdd(w, Vector512.Load(p + 3 * srcRow), a3);
                    a4 = Vector512.FusedMultiplyAdd(w, Vector512.Load(p2), a4);
                    a5 = Vector512.FusedMultiplyAdd(w, Vector512.Load(p2 + srcRow), a5);
                    a6 = Vector512.FusedMultiplyAdd(w, Vector512.Load(p2 + 2 * srcRow), a6);
                    a7 = Vector512.FusedMultiplyAdd(w, Vector512.Load(p2 + 3 * srcRow), a7);
                }
                if (relu)
                {
                    a0 = Vector512.Max(a0, Vector512<float>.Zero);
                    a1 = Vector512.Max(a1, Vector512<float>.Zero);
                    a2 = Vector512.Max(a2, Vector512<float>.Zero);
                    a3 = Vector512.Max(a3, Vector512<float>.Zero);
                    a4 = Vector512.Max(a4, Vector512<float>.Zero);
                    a5 = Vector512.Max(a5, Vector512<float>.Zero);
                    a6 = Vector512.Max(a6, Vector512<float>.Zero);
                    a7 = Vector512.Max(a7, Vector512<float>.Zero);
                }
                // Masked stores cost more than plain ones: only tiles at the edges use them.
                if (left >= 4 + rowShift && cols - m >= 16 + colShift)
                {
                    Vector512.Store(a0, d);
                    Vector512.Store(a1, d + dstRow);
                    Vector512.Store(a2, d + 2 * dstRow);
                    Vector512.Store(a3, d + 3 * dstRow);
                    Vector512.Store(a4, d2);
                    Vector512.Store(a5, d2 + dstRow);
                    Vector512.Store(a6, d2 + 2 * dstRow);
                    Vector512.Store(a7, d2 + 3 * dstRow);
                    continue;
                }
                Avx512F.MaskStore(d, m0, a0);
                Avx512F.MaskStore(d + dstRow, m1, a1);
                Avx512F.MaskStore(d + 2 * dstRow, m2, a2);
                Avx512F.MaskStore(d + 3 * dstRow, m3, a3);
                Avx512F.MaskStore(d2, m4, a4);
                Avx512F.MaskStore(d2 + dstRow, m5, a5);
                Avx512F.MaskStore(d2 + 2 * dstRow, m6, a6);
                Avx512F.MaskStore(d2 + 3 * dstRow, m7, a7);
            }
    }

    /// <summary>Floats a <see cref="GatherRows"/> source must have readable past its last row: 7 rows and 2 vectors.</summary>
    private static long TileSlack(long srcRow) => 7 * srcRow + 32;

    // The plain twin of GatherRows: the same sums in the same order, one output at a time.
    private static void GatherRowsScalar(float* src, long srcRow, int* off, float* wt, int taps, float init, bool relu, bool accumulate,
        float* dst, long dstRow, int rows, int cols)
    {
        for (int q = 0; q < rows; q++)
            for (int m = 0; m < cols; m++)
            {
                float* s = src + q * srcRow + m, d = dst + q * dstRow + m;
                float v = accumulate ? *d : init;
                for (int t = 0; t < taps; t++) v = MathF.FusedMultiplyAdd(wt[t], s[off[t]], v);
                *d = relu ? MathF.Max(v, 0f) : v;
            }
    }
}
