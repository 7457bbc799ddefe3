using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

/// <summary>
/// The weight gradient of a convolution whose column matrix has few rows (a 1-channel input: R = KH·KW),
/// dW [OC, R] += dY [OC, P] · colᵀ [P, R], as dot products over the P pixels. A GEMM tiles R into 48 or
/// 64 wide register tiles, so R = 9 would be ~80% padding. With AVX-512 the dots run in blocks of
/// 2 output channels × 4 taps (8 accumulators; 6 loads per 8 FMAs) so each loaded vector serves several
/// products; otherwise one <see cref="TensorPrimitives.Dot"/> per entry.
/// </summary>
/// <remarks>PyTorch: part of the weight gradient of <c>torch.nn.functional.conv2d</c>.</remarks>
internal static class ConvWeightGradient
{
    /// <summary>dw[o, i] += Σ_p dy[o, p] · col[i, p] for o &lt; oc, i &lt; rows (both row-major, rows P long).</summary>
    public static unsafe void AddDots(ReadOnlySpan<float> dy, ReadOnlySpan<float> col, int oc, int rows, int p, Span<float> dw)
    {
        if (dy.Length < oc * p || col.Length < rows * p || dw.Length < oc * rows)
            throw new ArgumentException($"AddDots: spans too small for oc={oc}, rows={rows}, p={p}");
        if (!Vector512.IsHardwareAccelerated)
        {
            AddDotsReference(dy, col, oc, rows, p, dw);
            return;
        }
        fixed (float* pdy = dy, pcol = col, pdw = dw)
        {
            int o = 0;
            for (; o + 2 <= oc; o += 2)
                for (int i = 0; i < rows; i += 4)
                    Block(pdy + (long)o * p, pcol, i, Math.Min(4, rows - i), p, pdw + o * rows + i, rows, 2);
            for (; o < oc; o++)
                for (int i = 0; i < rows; i += 4)
                    Block(pdy + (long)o * p, pcol, i, Math.Min(4, rows - i), p, pdw + o * rows + i, rows, 1);
        }
    }

    // dw[a, j] += Σ_p dy[a, p]·col[i + j, p] for a < outs (1 or 2), j < taps (1..4); rows past taps reuse the last row (sums dropped).
    private static unsafe void Block(float* dy, float* col, int i, int taps, int p, float* dw, int rows, int outs)
    {
        float* c0 = col + (long)i * p;
        float* c1 = col + (long)(i + Math.Min(1, taps - 1)) * p;
        float* c2 = col + (long)(i + Math.Min(2, taps - 1)) * p;
        float* c3 = col + (long)(i + Math.Min(3, taps - 1)) * p;
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

    /// <summary>The plain twin of <see cref="AddDots"/>: one dot product per entry.</summary>
    public static void AddDotsReference(ReadOnlySpan<float> dy, ReadOnlySpan<float> col, int oc, int rows, int p, Span<float> dw)
    {
        for (int o = 0; o < oc; o++)
        {
            var dyRow = dy.Slice(o * p, p);
            for (int i = 0; i < rows; i++)
                dw[o * rows + i] += TensorPrimitives.Dot(dyRow, col.Slice(i * p, p));
        }
    }
}
