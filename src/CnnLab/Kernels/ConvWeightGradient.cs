namespace CnnLab.Kernels;

/// <summary>
/// The weight gradient of a convolution whose column matrix has few rows (a 1-channel input: R = KH·KW),
/// dW [OC, R] += dY [OC, P] · colᵀ [P, R], as one dot product per entry. A GEMM tiles R into 48 or 64
/// wide register tiles, so R = 9 would be ~80% padding; here each of the OC·R dot products runs the
/// full length P with vector loads of both operands.
/// </summary>
/// <remarks>PyTorch: part of the weight gradient of <c>torch.nn.functional.conv2d</c>.</remarks>
internal static class ConvWeightGradient
{
    /// <summary>dw[o, i] += Σ_p dy[o, p] · col[i, p] for o &lt; oc, i &lt; rows (both row-major, rows P long).</summary>
    public static void AddDots(ReadOnlySpan<float> dy, ReadOnlySpan<float> col, int oc, int rows, int p, Span<float> dw)
    {
        for (int o = 0; o < oc; o++)
        {
            var dyRow = dy.Slice(o * p, p);
            for (int i = 0; i < rows; i++)
                dw[o * rows + i] += TensorPrimitives.Dot(dyRow, col.Slice(i * p, p));
        }
    }
}
