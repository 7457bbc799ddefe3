using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

// Legend: C is M x N, op(A) is M x K, op(B) is K x N; all row-major with leading dimensions lda/ldb/ldc.

/// <summary>
/// Single-precision matrix multiply, C = alpha·op(A)·op(B) + beta·C (BLAS sgemm, row-major).
/// Written by hand because no managed library ships a fast sgemm and CnnLab has no native dependency.
/// The fast path computes a 4 x 32 register tile of C with vector FMAs; <see cref="Reference"/> is
/// its plain twin and the specification the tests hold it to.
/// </summary>
public static unsafe class Gemm
{
    private const int MR = 4;

    /// <summary>C = alpha·op(A)·op(B) + beta·C. op(X) is X or Xᵀ as the flags say.</summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (m == 0 || n == 0) return;
        ScaleC(m, n, beta, c, ldc);
        if (k == 0 || alpha == 0f) return;

        // Bring both operands to plain row-major form so the tile loop reads B rows contiguously.
        float[]? aCopy = null, bCopy = null;
        if (transA) { aCopy = Transpose(a, k, m, lda); lda = k; }
        if (transB) { bCopy = Transpose(b, n, k, ldb); ldb = n; }
        fixed (float* pa0 = aCopy is null ? a : aCopy)
        fixed (float* pb0 = bCopy is null ? b : bCopy)
        fixed (float* pc0 = c)
        {
            nint pa = (nint)pa0, pb = (nint)pb0, pc = (nint)pc0;
            int lda2 = lda, ldb2 = ldb;
            int rowBlocks = (m + MR - 1) / MR;
            long work = (long)m * n * k;
            int minChunk = work < 1 << 18 ? rowBlocks : Math.Max(1, (int)(rowBlocks * (1L << 17) / work));
            Parallelism.For(rowBlocks, minChunk, (start, end) =>
            {
                for (int blk = start; blk < end; blk++)
                {
                    int i0 = blk * MR;
                    int rows = Math.Min(MR, m - i0);
                    RowBlock((float*)pa + (long)i0 * lda2, lda2, (float*)pb, ldb2, (float*)pc + (long)i0 * ldc, ldc, rows, n, k, alpha);
                }
            });
        }
    }

    private static void Validate(bool transA, bool transB, int m, int n, int k, int aLen, int lda, int bLen, int ldb, int cLen, int ldc)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentException($"negative GEMM size m={m} n={n} k={k}");
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        if (lda < Math.Max(1, aCols) || ldb < Math.Max(1, bCols) || ldc < Math.Max(1, n))
            throw new ArgumentException($"GEMM leading dimensions too small: lda={lda} (cols {aCols}), ldb={ldb} (cols {bCols}), ldc={ldc} (cols {n})");
        if (aRows > 0 && aCols > 0 && (long)(aRows - 1) * lda + aCols > aLen) throw new ArgumentException($"A has {aLen} elements, needs {aRows}x{aCols} with lda {lda}");
        if (bRows > 0 && bCols > 0 && (long)(bRows - 1) * ldb + bCols > bLen) throw new ArgumentException($"B has {bLen} elements, needs {bRows}x{bCols} with ldb {ldb}");
        if (m > 0 && n > 0 && (long)(m - 1) * ldc + n > cLen) throw new ArgumentException($"C has {cLen} elements, needs {m}x{n} with ldc {ldc}");
    }

    private static void ScaleC(int m, int n, float beta, Span<float> c, int ldc)
    {
        if (beta == 1f) return;
        for (int i = 0; i < m; i++)
        {
            var row = c.Slice(i * ldc, n);
            if (beta == 0f) row.Clear();
            else TensorPrimitives.Multiply(row, beta, row);
        }
    }

    // src is rows x cols with leading dim ld; returns cols x rows, contiguous.
    private static float[] Transpose(ReadOnlySpan<float> src, int rows, int cols, int ld)
    {
        var dst = new float[(long)rows * cols];
        const int T = 32;
        for (int i0 = 0; i0 < rows; i0 += T)
            for (int j0 = 0; j0 < cols; j0 += T)
                for (int i = i0; i < Math.Min(rows, i0 + T); i++)
                    for (int j = j0; j < Math.Min(cols, j0 + T); j++)
                        dst[(long)j * rows + i] = src[i * ld + j];
        return dst;
    }

    // C[rows, n] += alpha * A[rows, k] * B[k, n] for rows <= MR.
    private static void RowBlock(float* a, int lda, float* b, int ldb, float* c, int ldc, int rows, int n, int k, float alpha)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated && rows == MR)
        {
            for (; j + 32 <= n; j += 32) Tile512(a, lda, b + j, ldb, c + j, ldc, k, alpha);
        }
        if (Vector256.IsHardwareAccelerated && rows == MR)
        {
            for (; j + 16 <= n; j += 16) Tile256(a, lda, b + j, ldb, c + j, ldc, k, alpha);
        }
        for (int r = 0; r < rows; r++)
        {
            float* crow = c + (long)r * ldc;
            float* arow = a + (long)r * lda;
            for (int p = 0; p < k; p++)
            {
                float av = alpha * arow[p];
                float* brow = b + (long)p * ldb;
                for (int jj = j; jj < n; jj++) crow[jj] += av * brow[jj];
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile512(float* a, int lda, float* b, int ldb, float* c, int ldc, int k, float alpha)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
        float* a0 = a, a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda;
        for (int p = 0; p < k; p++)
        {
            float* bp = b + (long)p * ldb;
            var b0 = Vector512.Load(bp);
            var b1 = Vector512.Load(bp + 16);
            var x = Vector512.Create(a0[p]);
            c00 = Vector512.FusedMultiplyAdd(x, b0, c00); c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a1[p]);
            c10 = Vector512.FusedMultiplyAdd(x, b0, c10); c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a2[p]);
            c20 = Vector512.FusedMultiplyAdd(x, b0, c20); c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a3[p]);
            c30 = Vector512.FusedMultiplyAdd(x, b0, c30); c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
        }
        var al = Vector512.Create(alpha);
        Store512(c, c00, c01, al);
        Store512(c + ldc, c10, c11, al);
        Store512(c + 2L * ldc, c20, c21, al);
        Store512(c + 3L * ldc, c30, c31, al);
    }

    private static void Store512(float* c, Vector512<float> v0, Vector512<float> v1, Vector512<float> alpha)
    {
        Vector512.FusedMultiplyAdd(v0, alpha, Vector512.Load(c)).Store(c);
        Vector512.FusedMultiplyAdd(v1, alpha, Vector512.Load(c + 16)).Store(c + 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile256(float* a, int lda, float* b, int ldb, float* c, int ldc, int k, float alpha)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
        float* a0 = a, a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda;
        for (int p = 0; p < k; p++)
        {
            float* bp = b + (long)p * ldb;
            var b0 = Vector256.Load(bp);
            var b1 = Vector256.Load(bp + 8);
            var x = Vector256.Create(a0[p]);
            c00 = Vector256.FusedMultiplyAdd(x, b0, c00); c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
            x = Vector256.Create(a1[p]);
            c10 = Vector256.FusedMultiplyAdd(x, b0, c10); c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
            x = Vector256.Create(a2[p]);
            c20 = Vector256.FusedMultiplyAdd(x, b0, c20); c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
            x = Vector256.Create(a3[p]);
            c30 = Vector256.FusedMultiplyAdd(x, b0, c30); c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
        }
        var al = Vector256.Create(alpha);
        Store256(c, c00, c01, al);
        Store256(c + ldc, c10, c11, al);
        Store256(c + 2L * ldc, c20, c21, al);
        Store256(c + 3L * ldc, c30, c31, al);
    }

    private static void Store256(float* c, Vector256<float> v0, Vector256<float> v1, Vector256<float> alpha)
    {
        Vector256.FusedMultiplyAdd(v0, alpha, Vector256.Load(c)).Store(c);
        Vector256.FusedMultiplyAdd(v1, alpha, Vector256.Load(c + 8)).Store(c + 8);
    }

    /// <summary>The plain triple loop: the specification the fast path is tested against.</summary>
    public static void Reference(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++)
                {
                    float av = transA ? a[p * lda + i] : a[i * lda + p];
                    float bv = transB ? b[j * ldb + p] : b[p * ldb + j];
                    sum += (double)av * bv;
                }
                float prior = beta == 0f ? 0f : beta * c[i * ldc + j];
                c[i * ldc + j] = (float)(alpha * sum) + prior;
            }
    }
}
