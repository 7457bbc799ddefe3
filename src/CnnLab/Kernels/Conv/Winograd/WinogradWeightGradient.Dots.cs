using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend as in WinogradWeightGradient.cs; k the block's tiles, each row of dM_ξ and V_ξ k floats from its start.

internal sealed unsafe partial class WinogradWeightGradient
{
    /// <summary>Floats of scratch <see cref="AddDots(int, int, int, float*, float*, long, float*, float*)"/> turns V round into.</summary>
    internal static int DotsScratch(int cg, int k) => cg <= 16 ? 0 : (k + 15) / 16 * 16 * ((cg + 15) / 16 * 16);

    /// <summary><see cref="AddDots(int, int, int, float*, float*, long, float*, float*)"/> with scratch of its own.</summary>
    internal static void AddDots(int ocg, int cg, int k, float* dm, float* v, long stride, float* du)
    {
        var scratch = ArrayPool<float>.Shared.Rent(DotsScratch(cg, k));
        fixed (float* turned = scratch) AddDots(ocg, cg, k, dm, v, stride, du, turned);
        ArrayPool<float>.Shared.Return(scratch);
    }

    /// <summary>
    /// dU_ξ [OCg, Cg] += dM_ξ [OCg, k] · V_ξᵀ [k, Cg] for one position: rows o of dM at dm + o·<paramref name="stride"/>,
    /// rows c of V at v + c·stride, dU's rows Cg apart. V is first turned round into <paramref name="turned"/> (k rows of
    /// its channels side by side, 16 x 16 at a time, <see cref="DotsScratch"/> floats), so that the product runs as the
    /// forward's does (<see cref="WinogradBlock"/>'s Multiply): 8 rows of dM broadcast tile by tile against one to three
    /// vectors of channels, 24 sums in registers over all k tiles, added to dU once. Each entry sums its products in order of
    /// the tiles by fused multiply-adds. (Dot products along the tiles, 4 x 4 entries at a time, spent a third of their time
    /// folding 16 vectors of partial sums into one per block: 133-145 GF/s against 190 in L1.) Written by hand: as a GEMM
    /// the product has 16 to 128 rows and columns and a long K, and the GEMM packed both operands to make a tiny C.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void AddDots(int ocg, int cg, int k, float* dm, float* v, long stride, float* du, float* turned)
    {
        if (cg <= 16)
        {
            AddDotsAlongTiles(ocg, cg, k, dm, v, stride, du);
            return;
        }
        int width = (cg + 15) / 16 * 16;
        TurnRound(cg, k, v, stride, turned, width);
        for (int o0 = 0; o0 < ocg; o0 += 8)
        {
            int rows = Math.Min(8, ocg - o0), c0 = 0;
            float* a = dm + o0 * stride, d = du + (long)o0 * cg;
            // Three vectors at a time, but 64 columns as two pairs (16 sums each) rather than three and one (8).
            for (; width - c0 >= 48 && width - c0 != 64; c0 += 48)
                AddRows<WinogradBlock.ThreeVectors>(k, a, stride, rows, turned + c0, width, d + c0, cg, cg - c0);
            for (; c0 < width; c0 += 32)
            {
                if (width - c0 >= 32) AddRows<WinogradBlock.TwoVectors>(k, a, stride, rows, turned + c0, width, d + c0, cg, cg - c0);
                else AddRows<WinogradBlock.OneVector>(k, a, stride, rows, turned + c0, width, d + c0, cg, cg - c0);
            }
        }
    }

    // turned[t·width + c] = v[c·stride + t] for t < k (rows up to k rounded to 16 hold what v holds there), zero for c ≥ cg.
    // A last block of fewer than 16 channels goes through a 16 x 16 copy whose other rows are zero: V may end at its last row.
    private static void TurnRound(int cg, int k, float* v, long stride, float* turned, int width)
    {
        int k16 = (k + 15) / 16 * 16;
        float* partial = stackalloc float[16 * 16];
        for (int c0 = 0; c0 < width; c0 += 16)
        {
            int rows = Math.Min(16, cg - c0);
            if (rows < 16) new Span<float>(partial, 16 * 16).Clear();
            for (int t0 = 0; t0 < k16; t0 += 16)
            {
                if (rows == 16)
                {
                    Transpose16.Block(v + c0 * stride + t0, stride, turned + (long)t0 * width + c0, width);
                    continue;
                }
                for (int c = 0; c < rows; c++) Vector512.Load(v + (c0 + c) * stride + t0).Store(partial + 16 * c);
                Transpose16.Block(partial, 16, turned + (long)t0 * width + c0, width);
            }
        }
    }

    /// <summary>
    /// du[r·cg + j] += Σ_t a[r·stride + t]·turned[t·width + j] for <paramref name="rows"/> ≤ 8 rows r and the 16, 32 or 48
    /// columns j of <typeparamref name="TWidth"/>, of which the first <paramref name="columns"/> are dU's. Rows past
    /// <paramref name="rows"/> repeat the last one; their sums are dropped.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddRows<TWidth>(int k, float* a, long stride, int rows, float* turned, int width, float* du, int cg, int columns)
        where TWidth : struct, WinogradBlock.IWidth
    {
        bool second = TWidth.Vectors > 1, third = TWidth.Vectors > 2;
        float* a0 = a, a1 = a + Math.Min(1, rows - 1) * stride, a2 = a + Math.Min(2, rows - 1) * stride;
        float* a3 = a + Math.Min(3, rows - 1) * stride, a4 = a + Math.Min(4, rows - 1) * stride, a5 = a + Math.Min(5, rows - 1) * stride;
        float* a6 = a + Math.Min(6, rows - 1) * stride, a7 = a + Math.Min(7, rows - 1) * stride;
        Vector512<float> c00 = default, c01 = default, c02 = default, c10 = default, c11 = default, c12 = default;
        Vector512<float> c20 = default, c21 = default, c22 = default, c30 = default, c31 = default, c32 = default;
        Vector512<float> c40 = default, c41 = default, c42 = default, c50 = default, c51 = default, c52 = default;
        Vector512<float> c60 = default, c61 = default, c62 = default, c70 = default, c71 = default, c72 = default;
        float* b = turned;
        for (int t = 0; t < k; t++, b += width)
        {
            var b0 = Vector512.Load(b);
            var b1 = second ? Vector512.Load(b + 16) : default;
            var b2 = third ? Vector512.Load(b + 32) : default;
            var x = Vector512.Create(a0[t]);
            c00 = Vector512.FusedMultiplyAdd(x, b0, c00);
            if (second) c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            if (third) c02 = Vector512.FusedMultiplyAdd(x, b2, c02);
            x = Vector512.Create(a1[t]);
            c10 = Vector512.FusedMultiplyAdd(x, b0, c10);
            if (second) c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            if (third) c12 = Vector512.FusedMultiplyAdd(x, b2, c12);
            x = Vector512.Create(a2[t]);
            c20 = Vector512.FusedMultiplyAdd(x, b0, c20);
            if (second) c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            if (third) c22 = Vector512.FusedMultiplyAdd(x, b2, c22);
            x = Vector512.Create(a3[t]);
            c30 = Vector512.FusedMultiplyAdd(x, b0, c30);
            if (second) c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
            if (third) c32 = Vector512.FusedMultiplyAdd(x, b2, c32);
            x = Vector512.Create(a4[t]);
            c40 = Vector512.FusedMultiplyAdd(x, b0, c40);
            if (second) c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
            if (third) c42 = Vector512.FusedMultiplyAdd(x, b2, c42);
            x = Vector512.Create(a5[t]);
            c50 = Vector512.FusedMultiplyAdd(x, b0, c50);
            if (second) c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
            if (third) c52 = Vector512.FusedMultiplyAdd(x, b2, c52);
            x = Vector512.Create(a6[t]);
            c60 = Vector512.FusedMultiplyAdd(x, b0, c60);
            if (second) c61 = Vector512.FusedMultiplyAdd(x, b1, c61);
            if (third) c62 = Vector512.FusedMultiplyAdd(x, b2, c62);
            x = Vector512.Create(a7[t]);
            c70 = Vector512.FusedMultiplyAdd(x, b0, c70);
            if (second) c71 = Vector512.FusedMultiplyAdd(x, b1, c71);
            if (third) c72 = Vector512.FusedMultiplyAdd(x, b2, c72);
        }
        AddRow(du, rows > 0, columns, c00, c01, c02, second, third);
        AddRow(du + cg, rows > 1, columns, c10, c11, c12, second, third);
        AddRow(du + 2 * cg, rows > 2, columns, c20, c21, c22, second, third);
        AddRow(du + 3 * cg, rows > 3, columns, c30, c31, c32, second, third);
        AddRow(du + 4 * cg, rows > 4, columns, c40, c41, c42, second, third);
        AddRow(du + 5 * cg, rows > 5, columns, c50, c51, c52, second, third);
        AddRow(du + 6 * cg, rows > 6, columns, c60, c61, c62, second, third);
        AddRow(du + 7 * cg, rows > 7, columns, c70, c71, c72, second, third);
    }

    // One row's sums added to dU: whole vectors where all 16 columns are dU's, the last one's first columns by a mask.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRow(float* du, bool row, int columns, Vector512<float> s0, Vector512<float> s1, Vector512<float> s2,
        bool second, bool third)
    {
        if (!row) return;
        AddVector(du, columns, s0);
        if (second) AddVector(du + 16, columns - 16, s1);
        if (third) AddVector(du + 32, columns - 32, s2);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddVector(float* du, int columns, Vector512<float> sums)
    {
        if (columns >= 16)
        {
            (Vector512.Load(du) + sums).Store(du);
            return;
        }
        if (columns <= 0) return;
        var mask = LaneMask.First(columns).AsSingle();
        Avx512F.MaskStore(du, mask, Avx512F.MaskLoad(du, mask, Vector512<float>.Zero) + sums);
    }

    /// <summary>
    /// AddDots for at most 16 channels, where V turned round fills one vector and the products' broadcasts outnumber their
    /// loads (16→16 measured 5-10 % slower that way): each entry the dot product of two rows that both run along the
    /// tiles, 4 x 4 entries at a time in 16 vectors of partial sums (8 loads per 16 multiply-adds, from rows L1 holds),
    /// <see cref="Fold"/>ed into one vector of the 16 entries at the end.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddDotsAlongTiles(int ocg, int cg, int k, float* dm, float* v, long stride, float* du)
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
