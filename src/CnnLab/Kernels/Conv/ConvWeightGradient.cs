using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

/// <summary>
/// The weight gradient of a convolution whose column matrix has few rows (a 1-channel input: R = KH·KW),
/// dW [OC, R] += dY [OC, P] · colᵀ [P, R], as dot products over the P pixels. A GEMM tiles R into 48 or
/// 64 wide register tiles, so R = 9 would be ~80% padding. With AVX-512 the dots run in blocks of
/// 2 output channels × 4 taps (8 accumulators; 6 loads per 8 FMAs), 2 × 9 for a 3x3 kernel (18; 11 loads per 18 FMAs,
/// dy read once), or 4 × 3 when R is another multiple of 3 but not of 4, so each loaded vector serves several products;
/// otherwise one
/// <see cref="TensorPrimitives.Dot"/> per entry.
/// </summary>
/// <remarks>PyTorch: part of the weight gradient of <c>torch.nn.functional.conv2d</c>.</remarks>
internal static class ConvWeightGradient
{
    /// <summary>
    /// dw[o, i] += Σ_p dy[o, p] · col[i, p] for o &lt; oc, i &lt; rows (both row-major; dy's rows P long, col's
    /// <paramref name="colStride"/> apart, 0: P).
    /// </summary>
    public static unsafe void AddDots(ReadOnlySpan<float> dy, ReadOnlySpan<float> col, int oc, int rows, int p, Span<float> dw, int colStride = 0)
    {
        int cs = colStride == 0 ? p : colStride;
        if (cs < p || dy.Length < oc * p || col.Length < (long)(rows - 1) * cs + p || dw.Length < oc * rows)
            throw new ArgumentException($"AddDots: spans too small for oc={oc}, rows={rows}, p={p}, column stride {cs}");
        if (!Vector512.IsHardwareAccelerated)
        {
            AddDotsReference(dy, col, oc, rows, p, dw, cs);
            return;
        }
        fixed (float* pdy = dy, pcol = col, pdw = dw)
        {
            int o = 0;
            // A 3x3 kernel on one channel: two output channels against all nine rows, so that each row of dy is read once
            // (from memory: a first layer's dy is the largest tensor of its step) rather than once per block of rows.
            if (rows == 9)
                for (; o + 2 <= oc; o += 2)
                    Block2x9(pdy + (long)o * p, pcol, p, cs, pdw + o * rows);
            // Other rows in threes (R = 6, 15, …, where a 4-tap block would be partly padding), four output channels at a
            // time: 12 accumulators, 7 loads per 12 FMAs.
            if (rows % 3 == 0 && rows % 4 != 0)
                for (; o + 4 <= oc; o += 4)
                    for (int i = 0; i < rows; i += 3)
                        Block4x3(pdy + (long)o * p, pcol + (long)i * cs, p, cs, pdw + o * rows + i, rows);
            for (; o + 2 <= oc; o += 2)
                for (int i = 0; i < rows; i += 4)
                    Block(pdy + (long)o * p, pcol, i, Math.Min(4, rows - i), p, cs, pdw + o * rows + i, rows, 2);
            for (; o < oc; o++)
                for (int i = 0; i < rows; i += 4)
                    Block(pdy + (long)o * p, pcol, i, Math.Min(4, rows - i), p, cs, pdw + o * rows + i, rows, 1);
        }
    }

    // dw[a, j] += Σ_p dy[a, p]·col[i + j, p] for a < outs (1 or 2), j < taps (1..4); rows past taps reuse the last row (sums dropped).
    private static unsafe void Block(float* dy, float* col, int i, int taps, int p, int colStride, float* dw, int rows, int outs)
    {
        float* c0 = col + (long)i * colStride;
        float* c1 = col + (long)(i + Math.Min(1, taps - 1)) * colStride;
        float* c2 = col + (long)(i + Math.Min(2, taps - 1)) * colStride;
        float* c3 = col + (long)(i + Math.Min(3, taps - 1)) * colStride;
        float* d0 = dy, d1 = outs > 1 ? dy + p : dy;
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
        int k = 0;
        for (; k + 16 <= p; k += 16)
        {
            var x0 = Vector512.Load(c0 + k); var x1 = Vector512.Load(c1 + k); var x2 = Vector512.Load(c2 + k); var x3 = Vector512.Load(c3 + k);
            var g0 = Vector512.Load(d0 + k); var g1 = Vector512.Load(d1 + k);
            a00 = Vector512.FusedMultiplyAdd(g0, x0, a00); a01 = Vector512.FusedMultiplyAdd(g0, x1, a01);
            a02 = Vector512.FusedMultiplyAdd(g0, x2, a02); a03 = Vector512.FusedMultiplyAdd(g0, x3, a03);
            a10 = Vector512.FusedMultiplyAdd(g1, x0, a10); a11 = Vector512.FusedMultiplyAdd(g1, x1, a11);
            a12 = Vector512.FusedMultiplyAdd(g1, x2, a12); a13 = Vector512.FusedMultiplyAdd(g1, x3, a13);
        }
        Span<float> sums = [Vector512.Sum(a00), Vector512.Sum(a01), Vector512.Sum(a02), Vector512.Sum(a03),
                            Vector512.Sum(a10), Vector512.Sum(a11), Vector512.Sum(a12), Vector512.Sum(a13)];
        for (; k < p; k++)
        {
            sums[0] += d0[k] * c0[k]; sums[1] += d0[k] * c1[k]; sums[2] += d0[k] * c2[k]; sums[3] += d0[k] * c3[k];
            sums[4] += d1[k] * c0[k]; sums[5] += d1[k] * c1[k]; sums[6] += d1[k] * c2[k]; sums[7] += d1[k] * c3[k];
        }
        for (int j = 0; j < taps; j++)
        {
            dw[j] += sums[j];
            if (outs > 1) dw[rows + j] += sums[4 + j];
        }
    }

    // dw[a, j] += Σ_p dy[a, p]·col[j, p] for a < 4, j < 3: each entry summed exactly as Block sums it
    // (16 lanes of FMAs over p, the lanes added, then the scalar tail), so the same bits.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Block4x3(float* dy, float* col, int p, int colStride, float* dw, int rows)
    {
        float* c0 = col, c1 = col + colStride, c2 = col + 2L * colStride;
        float* d0 = dy, d1 = dy + p, d2 = dy + 2L * p, d3 = dy + 3L * p;
        Vector512<float> a00 = default, a01 = default, a02 = default, a10 = default, a11 = default, a12 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a30 = default, a31 = default, a32 = default;
        int k = 0;
        for (; k + 16 <= p; k += 16)
        {
            var x0 = Vector512.Load(c0 + k); var x1 = Vector512.Load(c1 + k); var x2 = Vector512.Load(c2 + k);
            var g = Vector512.Load(d0 + k);
            a00 = Vector512.FusedMultiplyAdd(g, x0, a00); a01 = Vector512.FusedMultiplyAdd(g, x1, a01); a02 = Vector512.FusedMultiplyAdd(g, x2, a02);
            g = Vector512.Load(d1 + k);
            a10 = Vector512.FusedMultiplyAdd(g, x0, a10); a11 = Vector512.FusedMultiplyAdd(g, x1, a11); a12 = Vector512.FusedMultiplyAdd(g, x2, a12);
            g = Vector512.Load(d2 + k);
            a20 = Vector512.FusedMultiplyAdd(g, x0, a20); a21 = Vector512.FusedMultiplyAdd(g, x1, a21); a22 = Vector512.FusedMultiplyAdd(g, x2, a22);
            g = Vector512.Load(d3 + k);
            a30 = Vector512.FusedMultiplyAdd(g, x0, a30); a31 = Vector512.FusedMultiplyAdd(g, x1, a31); a32 = Vector512.FusedMultiplyAdd(g, x2, a32);
        }
        Span<float> sums = [Vector512.Sum(a00), Vector512.Sum(a01), Vector512.Sum(a02), Vector512.Sum(a10), Vector512.Sum(a11), Vector512.Sum(a12),
                            Vector512.Sum(a20), Vector512.Sum(a21), Vector512.Sum(a22), Vector512.Sum(a30), Vector512.Sum(a31), Vector512.Sum(a32)];
        for (; k < p; k++)
        {
            sums[0] += d0[k] * c0[k]; sums[1] += d0[k] * c1[k]; sums[2] += d0[k] * c2[k];
            sums[3] += d1[k] * c0[k]; sums[4] += d1[k] * c1[k]; sums[5] += d1[k] * c2[k];
            sums[6] += d2[k] * c0[k]; sums[7] += d2[k] * c1[k]; sums[8] += d2[k] * c2[k];
            sums[9] += d3[k] * c0[k]; sums[10] += d3[k] * c1[k]; sums[11] += d3[k] * c2[k];
        }
        for (int a = 0; a < 4; a++)
            for (int j = 0; j < 3; j++) dw[a * rows + j] += sums[3 * a + j];
    }

    // dw[a, j] += Σ_p dy[a, p]·col[j, p] for a < 2, j < 9, each entry summed as Block sums it: the same bits.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Block2x9(float* dy, float* col, int p, int colStride, float* dw)
    {
        float* c0 = col, c1 = col + colStride, c2 = col + 2L * colStride, c3 = col + 3L * colStride, c4 = col + 4L * colStride;
        float* c5 = col + 5L * colStride, c6 = col + 6L * colStride, c7 = col + 7L * colStride, c8 = col + 8L * colStride;
        float* d0 = dy, d1 = dy + p;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        Vector512<float> a8 = default, b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default, b6 = default;
        Vector512<float> b7 = default, b8 = default;
        int k = 0;
        for (; k + 16 <= p; k += 16)
        {
            var g = Vector512.Load(d0 + k);
            var h = Vector512.Load(d1 + k);
            var x = Vector512.Load(c0 + k);
            a0 = Vector512.FusedMultiplyAdd(g, x, a0); b0 = Vector512.FusedMultiplyAdd(h, x, b0);
            x = Vector512.Load(c1 + k);
            a1 = Vector512.FusedMultiplyAdd(g, x, a1); b1 = Vector512.FusedMultiplyAdd(h, x, b1);
            x = Vector512.Load(c2 + k);
            a2 = Vector512.FusedMultiplyAdd(g, x, a2); b2 = Vector512.FusedMultiplyAdd(h, x, b2);
            x = Vector512.Load(c3 + k);
            a3 = Vector512.FusedMultiplyAdd(g, x, a3); b3 = Vector512.FusedMultiplyAdd(h, x, b3);
            x = Vector512.Load(c4 + k);
            a4 = Vector512.FusedMultiplyAdd(g, x, a4); b4 = Vector512.FusedMultiplyAdd(h, x, b4);
            x = Vector512.Load(c5 + k);
            a5 = Vector512.FusedMultiplyAdd(g, x, a5); b5 = Vector512.FusedMultiplyAdd(h, x, b5);
            x = Vector512.Load(c6 + k);
            a6 = Vector512.FusedMultiplyAdd(g, x, a6); b6 = Vector512.FusedMultiplyAdd(h, x, b6);
            x = Vector512.Load(c7 + k);
            a7 = Vector512.FusedMultiplyAdd(g, x, a7); b7 = Vector512.FusedMultiplyAdd(h, x, b7);
            x = Vector512.Load(c8 + k);
            a8 = Vector512.FusedMultiplyAdd(g, x, a8); b8 = Vector512.FusedMultiplyAdd(h, x, b8);
        }
        Span<float> sums = [Vector512.Sum(a0), Vector512.Sum(a1), Vector512.Sum(a2), Vector512.Sum(a3), Vector512.Sum(a4), Vector512.Sum(a5),
                            Vector512.Sum(a6), Vector512.Sum(a7), Vector512.Sum(a8), Vector512.Sum(b0), Vector512.Sum(b1), Vector512.Sum(b2),
                            Vector512.Sum(b3), Vector512.Sum(b4), Vector512.Sum(b5), Vector512.Sum(b6), Vector512.Sum(b7), Vector512.Sum(b8)];
        for (; k < p; k++)
            for (int j = 0; j < 9; j++)
            {
                float x = col[j * (long)colStride + k];
                sums[j] += d0[k] * x;
                sums[9 + j] += d1[k] * x;
            }
        for (int j = 0; j < 18; j++) dw[j] += sums[j];
    }

    /// <summary>The plain twin of <see cref="AddDots"/>: one dot product per entry.</summary>
    public static void AddDotsReference(ReadOnlySpan<float> dy, ReadOnlySpan<float> col, int oc, int rows, int p, Span<float> dw, int colStride = 0)
    {
        for (int o = 0; o < oc; o++)
        {
            var dyRow = dy.Slice(o * p, p);
            for (int i = 0; i < rows; i++)
                dw[o * rows + i] += TensorPrimitives.Dot(dyRow, col.Slice(i * (colStride == 0 ? p : colStride), p));
        }
    }
}
