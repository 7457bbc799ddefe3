namespace CnnLab.Kernels;

// Legend: N batch, C channels, S spatial positions per channel (H·W for 2-D, L or 1 for 1-D);
// x and y are [N, C, S] row-major; statistics are per channel over M = N·S values.

/// <summary>
/// Batch-normalization arithmetic on spans (statistics in double for accuracy). Channels (for the
/// statistics and gradient sums) and planes (for the scale-shift) run in parallel; each is computed by
/// one thread in a fixed order, so results are the same for every thread count. The *Reference methods
/// run the same loops on one thread (the twins).
/// </summary>
/// <remarks>PyTorch: the arithmetic of <c>torch.nn.functional.batch_norm</c> (ATen's batch_norm_cpu kernels).</remarks>
public static class BatchNormKernel
{
    /// <summary>Per-channel mean and biased variance of x [N, C, S].</summary>
    public static unsafe void Statistics(ReadOnlySpan<float> x, int n, int c, int s, Span<double> mean, Span<double> variance)
    {
        Check(x.Length, n, c, s);
        if (mean.Length < c || variance.Length < c) throw new ArgumentException($"mean and variance need {c} elements");
        fixed (float* px = x)
        fixed (double* pm = mean, pv = variance)
        {
            nint xs = (nint)px, ms = (nint)pm, vs = (nint)pv;
            Parallelism.For(c, 1, (c0, c1) => StatisticsChannels(new ReadOnlySpan<float>((float*)xs, n * c * s), n, c, s,
                new Span<double>((double*)ms, c), new Span<double>((double*)vs, c), c0, c1));
        }
    }

    /// <summary>The single-threaded twin of <see cref="Statistics"/>.</summary>
    public static void StatisticsReference(ReadOnlySpan<float> x, int n, int c, int s, Span<double> mean, Span<double> variance) =>
        StatisticsChannels(x, n, c, s, mean, variance, 0, c);

    private static void StatisticsChannels(ReadOnlySpan<float> x, int n, int c, int s, Span<double> mean, Span<double> variance, int c0, int c1)
    {
        int m = n * s;
        for (int ch = c0; ch < c1; ch++)
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
    public static unsafe void ScaleShift(ReadOnlySpan<float> x, Span<float> y, int n, int c, int s, ReadOnlySpan<float> scale, ReadOnlySpan<float> shift)
    {
        Check(x.Length, n, c, s);
        Check(y.Length, n, c, s);
        if (scale.Length < c || shift.Length < c) throw new ArgumentException($"scale and shift need {c} elements");
        fixed (float* px = x, py = y, psc = scale, psh = shift)
        {
            nint xs = (nint)px, ys = (nint)py, scs = (nint)psc, shs = (nint)psh;
            Parallelism.For(n * c, Math.Max(1, 4096 / Math.Max(1, s)), (p0, p1) => ScaleShiftPlanes(new ReadOnlySpan<float>((float*)xs, n * c * s),
                new Span<float>((float*)ys, n * c * s), c, s, new ReadOnlySpan<float>((float*)scs, c), new ReadOnlySpan<float>((float*)shs, c), p0, p1));
        }
    }

    /// <summary>The single-threaded twin of <see cref="ScaleShift"/>.</summary>
    public static void ScaleShiftReference(ReadOnlySpan<float> x, Span<float> y, int n, int c, int s, ReadOnlySpan<float> scale, ReadOnlySpan<float> shift) =>
        ScaleShiftPlanes(x, y, c, s, scale, shift, 0, n * c);

    private static void ScaleShiftPlanes(ReadOnlySpan<float> x, Span<float> y, int c, int s, ReadOnlySpan<float> scale, ReadOnlySpan<float> shift, int p0, int p1)
    {
        for (int plane = p0; plane < p1; plane++)
        {
            int ch = plane % c, off = plane * s;
            var dst = y.Slice(off, s);
            TensorPrimitives.Multiply(x.Slice(off, s), scale[ch], dst);
            TensorPrimitives.Add(dst, shift[ch], dst);
        }
    }

    /// <summary>Per-channel Σ dy and Σ dy·x̂ where x̂ = (x − mean)·invStd.</summary>
    public static unsafe void GradientSums(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, int n, int c, int s,
        ReadOnlySpan<double> mean, ReadOnlySpan<double> invStd, Span<double> sumDy, Span<double> sumDyXhat)
    {
        Check(dy.Length, n, c, s);
        Check(x.Length, n, c, s);
        if (mean.Length < c || invStd.Length < c || sumDy.Length < c || sumDyXhat.Length < c) throw new ArgumentException($"per-channel spans need {c} elements");
        fixed (float* pdy = dy, px = x)
        fixed (double* pm = mean, pi = invStd, pa = sumDy, pb = sumDyXhat)
        {
            nint dys = (nint)pdy, xs = (nint)px, ms = (nint)pm, iss = (nint)pi, sa = (nint)pa, sb = (nint)pb;
            Parallelism.For(c, 1, (c0, c1) => GradientSumsChannels(new ReadOnlySpan<float>((float*)dys, n * c * s), new ReadOnlySpan<float>((float*)xs, n * c * s),
                n, c, s, new ReadOnlySpan<double>((double*)ms, c), new ReadOnlySpan<double>((double*)iss, c),
                new Span<double>((double*)sa, c), new Span<double>((double*)sb, c), c0, c1));
        }
    }

    /// <summary>The single-threaded twin of <see cref="GradientSums"/>.</summary>
    public static void GradientSumsReference(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, int n, int c, int s,
        ReadOnlySpan<double> mean, ReadOnlySpan<double> invStd, Span<double> sumDy, Span<double> sumDyXhat) =>
        GradientSumsChannels(dy, x, n, c, s, mean, invStd, sumDy, sumDyXhat, 0, c);

    private static void GradientSumsChannels(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, int n, int c, int s,
        ReadOnlySpan<double> mean, ReadOnlySpan<double> invStd, Span<double> sumDy, Span<double> sumDyXhat, int c0, int c1)
    {
        for (int ch = c0; ch < c1; ch++)
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

    private static void Check(int length, int n, int c, int s)
    {
        if (n < 0 || c < 0 || s < 0 || length < (long)n * c * s) throw new ArgumentException($"buffer of {length} elements is too small for [N={n}, C={c}, S={s}]");
    }
}
