using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend as in WinogradWeightGradient.cs; k the block's tiles, each row of dM_ξ and V_ξ k floats from its start.

internal sealed unsafe partial class WinogradWeightGradient
{
    /// <summary>
    /// dU_ξ [OCg, Cg] += dM_ξ [OCg, k] · V_ξᵀ [k, Cg] for one position: rows o of dM at dm + o·<paramref name="stride"/>,
    /// rows c of V at v + c·stride. Each entry is the dot product of two rows that both run along the tiles, so 4 x 4
    /// entries at a time keep 16 vectors of partial sums (8 loads per 16 multiply-adds, from rows L1 holds, nothing
    /// packed) and <see cref="Fold"/> them into one vector of the 16 entries at the end. Written by hand: as a GEMM the
    /// product has 16 to 128 rows and columns and a long K, and the GEMM packed both operands to make a tiny C.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void AddDots(int ocg, int cg, int k, float* dm, float* v, long stride, float* du)
    {
        var tailMask = LaneMask.First(k % 16).AsSingle();
        int whole = k / 16 * 16;
        float* sums = stackalloc float[16];
        for (int o0 = 0; o0 < ocg; o0 += 4)
        {
            // Rows past the matrix repeat its first row; their sums are computed and dropped.
            float* a0 = dm + o0 * stride, a1 = dm + (o0 + 1 < ocg ? o0 + 1 : 0) * stride;
            float* a2 = dm + (o0 + 2 < ocg ? o0 + 2 : 0) * stride, a3 = dm + (o0 + 3 < ocg ? o0 + 3 : 0) * stride;
            for (int c0 = 0; c0 < cg; c0 += 4)
            {
                float* b0 = v + c0 * stride, b1 = v + (c0 + 1 < cg ? c0 + 1 : 0) * stride;
                float* b2 = v + (c0 + 2 < cg ? c0 + 2 : 0) * stride, b3 = v + (c0 + 3 < cg ? c0 + 3 : 0) * stride;
                var dots = Dots4x4(a0, a1, a2, a3, b0, b1, b2, b3, whole, k, tailMask);
                if (o0 + 4 <= ocg && c0 + 4 <= cg)
                {
                    // A whole 4 x 4 block: each row's 4 sums added as one 128-bit vector.
                    float* row = du + (long)o0 * cg + c0;
                    (Vector128.Load(row) + dots.GetLower().GetLower()).Store(row);
                    (Vector128.Load(row + cg) + dots.GetLower().GetUpper()).Store(row + cg);
                    (Vector128.Load(row + 2 * cg) + dots.GetUpper().GetLower()).Store(row + 2 * cg);
                    (Vector128.Load(row + 3 * cg) + dots.GetUpper().GetUpper()).Store(row + 3 * cg);
                    continue;
                }
                dots.Store(sums);
                for (int i = 0; i < 4 && o0 + i < ocg; i++)
                {
                    float* row = du + (long)(o0 + i) * cg + c0;
                    for (int j = 0; j < 4 && c0 + j < cg; j++) row[j] += sums[4 * i + j];
                }
            }
        }
    }

    // The 16 dot products of rows a0..a3 (dM) with b0..b3 (V) over k floats (the first whole ones by whole vectors, the
    // rest masked), entry 4i + j for a_i and b_j.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Dots4x4(float* a0, float* a1, float* a2, float* a3, float* b0, float* b1, float* b2, float* b3,
        int whole, int k, Vector512<float> tailMask)
    {
        Vector512<float> s00 = default, s01 = default, s02 = default, s03 = default, s10 = default, s11 = default, s12 = default;
        Vector512<float> s13 = default, s20 = default, s21 = default, s22 = default, s23 = default, s30 = default, s31 = default;
        Vector512<float> s32 = default, s33 = default;
        for (int t = 0; t < k; t += 16)
        {
            Vector512<float> x0, x1, x2, x3, y0, y1, y2, y3;
            if (t < whole)
            {
                (x0, x1, x2, x3) = (Vector512.Load(a0 + t), Vector512.Load(a1 + t), Vector512.Load(a2 + t), Vector512.Load(a3 + t));
                (y0, y1, y2, y3) = (Vector512.Load(b0 + t), Vector512.Load(b1 + t), Vector512.Load(b2 + t), Vector512.Load(b3 + t));
            }
            else
            {
                var z = Vector512<float>.Zero;
                (x0, x1) = (Avx512F.MaskLoad(a0 + t, tailMask, z), Avx512F.MaskLoad(a1 + t, tailMask, z));
                (x2, x3) = (Avx512F.MaskLoad(a2 + t, tailMask, z), Avx512F.MaskLoad(a3 + t, tailMask, z));
                (y0, y1) = (Avx512F.MaskLoad(b0 + t, tailMask, z), Avx512F.MaskLoad(b1 + t, tailMask, z));
                (y2, y3) = (Avx512F.MaskLoad(b2 + t, tailMask, z), Avx512F.MaskLoad(b3 + t, tailMask, z));
            }
            s00 = Vector512.FusedMultiplyAdd(x0, y0, s00); s01 = Vector512.FusedMultiplyAdd(x0, y1, s01);
            s02 = Vector512.FusedMultiplyAdd(x0, y2, s02); s03 = Vector512.FusedMultiplyAdd(x0, y3, s03);
            s10 = Vector512.FusedMultiplyAdd(x1, y0, s10); s11 = Vector512.FusedMultiplyAdd(x1, y1, s11);
            s12 = Vector512.FusedMultiplyAdd(x1, y2, s12); s13 = Vector512.FusedMultiplyAdd(x1, y3, s13);
            s20 = Vector512.FusedMultiplyAdd(x2, y0, s20); s21 = Vector512.FusedMultiplyAdd(x2, y1, s21);
            s22 = Vector512.FusedMultiplyAdd(x2, y2, s22); s23 = Vector512.FusedMultiplyAdd(x2, y3, s23);
            s30 = Vector512.FusedMultiplyAdd(x3, y0, s30); s31 = Vector512.FusedMultiplyAdd(x3, y1, s31);
            s32 = Vector512.FusedMultiplyAdd(x3, y2, s32); s33 = Vector512.FusedMultiplyAdd(x3, y3, s33);
        }
        // Pairs, then pairs of pairs: the lanes end as 00, 01, 02, 03, 10, … 33.
        var top = Fold(Fold(Fold(s00, s01, 8), Fold(s02, s03, 8), 4), Fold(Fold(s10, s11, 8), Fold(s12, s13, 8), 4), 2);
        var bottom = Fold(Fold(Fold(s20, s21, 8), Fold(s22, s23, 8), 4), Fold(Fold(s30, s31, 8), Fold(s32, s33, 8), 4), 2);
        return Fold(top, bottom, 1);
    }

    /// <summary>
    /// Halves the partial sums of two vectors into one: each holds groups of 2p lanes (one sum's partials per group), and
    /// the result holds a's groups then b's, each folded to p lanes (its first p plus its last p).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Fold(Vector512<float> a, Vector512<float> b, int p)
    {
        // Lane j < 8 takes lane (j / p)·2p + j % p of a, lane 8 + j the same lane of b (index + 16); the other half p lanes on.
        var lo = p switch
        {
            8 => Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23),
            4 => Vector512.Create(0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27),
            2 => Vector512.Create(0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29),
            _ => Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30),
        };
        return Avx512F.PermuteVar16x32x2(a, lo, b) + Avx512F.PermuteVar16x32x2(a, lo + Vector512.Create(p), b);
    }
}
