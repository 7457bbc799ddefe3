namespace CnnLab.Kernels;

// Legend: N batch, C channels, S spatial positions per channel (H·W for 2-D, L or 1 for 1-D);
// x and y are [N, C, S] row-major; statistics are per channel over M = N·S values.

/// <summary>Batch-normalization arithmetic on spans (statistics in double for accuracy).</summary>
public static class BatchNormKernel
{
    /// <summary>Per-channel mean and biased variance of x [N, C, S].</summary>
    public static void Statistics(ReadOnlySpan<float> x, int n, int c, int s, Span<double> mean, Span<double> variance)
    {
        int m = n * s;
        for (int ch = 0; ch < c; ch++)
        {
            double sum = 0;
            for (int i = 0; i < n; i++)
            {
                var plane = x.Slice((i * c + ch) * s, s);
                sum += TensorPrimitives.Sum(plane);
            }
            double mu = sum / m;
            double sq = 0;
            for (int i = 0; i < n; i++)
            {
                var plane = x.Slice((i * c + ch) * s, s);
                for (int k = 0; k < plane.Length; k++)
                {
                    double d = plane[k] - mu;
                    sq += d * d;
                }
            }
            mean[ch] = mu;
            variance[ch] = sq / m;
        }
    }

    /// <summary>y = x·scale[c] + shift[c] per channel (normalization and affine folded into one pass).</summary>
    public static void ScaleShift(ReadOnlySpan<float> x, Span<float> y, int n, int c, int s, ReadOnlySpan<float> scale, ReadOnlySpan<float> shift)
    {
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < c; ch++)
            {
                int off = (i * c + ch) * s;
                var dst = y.Slice(off, s);
                TensorPrimitives.Multiply(x.Slice(off, s), scale[ch], dst);
                TensorPrimitives.Add(dst, shift[ch], dst);
            }
    }

    /// <summary>Per-channel Σ dy and Σ dy·x̂ where x̂ = (x − mean)·invStd.</summary>
    public static void GradientSums(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, int n, int c, int s,
        ReadOnlySpan<double> mean, ReadOnlySpan<double> invStd, Span<double> sumDy, Span<double> sumDyXhat)
    {
        for (int ch = 0; ch < c; ch++)
        {
            double a = 0, b = 0;
            for (int i = 0; i < n; i++)
            {
                int off = (i * c + ch) * s;
                for (int k = 0; k < s; k++)
                {
                    double g = dy[off + k];
                    a += g;
                    b += g * (x[off + k] - mean[ch]) * invStd[ch];
                }
            }
            sumDy[ch] = a;
            sumDyXhat[ch] = b;
        }
    }
}
