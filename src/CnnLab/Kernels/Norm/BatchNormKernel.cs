namespace CnnLab.Kernels;

// Legend: N batch, C channels, S spatial positions per channel (H·W for 2-D, L or 1 for 1-D);
// x and y are [N, C, S] row-major; statistics are per channel over M = N·S values.

/// <summary>
/// Batch-normalization arithmetic on spans (statistics in double for accuracy). Channels (for the
/// statistics and gradient sums) and planes (for the scale-shift) run in parallel; each is computed by
/// one thread in a fixed order, so results are the same for every thread count. The *Reference methods
/// run the same loops on one thread (the twins). The backward is in BatchNormKernel.Backward.cs.
/// </summary>
/// <remarks>PyTorch: the arithmetic of <c>torch.nn.functional.batch_norm</c> (ATen's batch_norm_cpu kernels).</remarks>
public static partial class BatchNormKernel
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

    private static unsafe void StatisticsChannels(ReadOnlySpan<float> x, int n, int c, int s, Span<double> mean, Span<double> variance,
        int c0, int c1)
    {
        for (int ch = c0; ch < c1; ch++)
        {
            // Each plane's mean and squared deviations in two passes while it is in L1 (so a large mean
            // cannot cancel the variance away), the planes merged in double by Chan, Golub & LeVeque's
            // pairwise update (1979): one trip through memory instead of two.
            double mu = 0, m2 = 0;
            for (int i = 0; i < n; i++)
            {
                // The next plane is N·C·S floats on: start loading it (see PlaneGradient.Prefetch).
                if (i + 1 < n)
                    fixed (float* next = x.Slice(((i + 1) * c + ch) * s, s)) PlaneGradient.PrefetchRange(next, s);
                var (planeMean, planeSquares) = BatchNormPlanes.MeanAndSquaredDeviations(x.Slice((i * c + ch) * s, s));
                MergePlane(ref mu, ref m2, i, s, planeMean, planeSquares);
            }
            mean[ch] = mu;
            variance[ch] = m2 / ((double)n * s);
        }
    }

    // Adds plane i (s values, its mean and squared deviations) to the running mean and M2 of planes 0 .. i − 1.
    private static void MergePlane(ref double mu, ref double m2, int i, int s, double planeMean, double planeSquares)
    {
        double before = (double)i * s, delta = planeMean - mu;
        mu += delta * s / (before + s);
        m2 += planeSquares + delta * delta * before * s / (before + s);
    }

    /// <summary>
    /// <see cref="Statistics"/> from each plane's mean and squared deviations
    /// (<see cref="BatchNormPlanes.MeanAndSquaredDeviations"/>, index n·C + c) taken beforehand, e.g. by the
    /// convolution that wrote the planes while they were in cache: merged in the same order, the same bits.
    /// </summary>
    public static void StatisticsFromPlanes(ReadOnlySpan<double> planeMeans, ReadOnlySpan<double> planeSquares, int n, int c, int s,
        Span<double> mean, Span<double> variance)
    {
        if (planeMeans.Length < n * c || planeSquares.Length < n * c) throw new ArgumentException($"plane statistics need {n * c} elements");
        if (mean.Length < c || variance.Length < c) throw new ArgumentException($"mean and variance need {c} elements");
        // Images outer, channels inner: each channel's merges run in the same order as one channel at a time (the same
        // bits), but the channels' chains of divisions are independent and overlap instead of waiting on each other.
        mean[..c].Clear();
        variance[..c].Clear();
        for (int i = 0; i < n; i++)
        {
            var means = planeMeans.Slice(i * c, c);
            var squares = planeSquares.Slice(i * c, c);
            for (int ch = 0; ch < c; ch++) MergePlane(ref mean[ch], ref variance[ch], i, s, means[ch], squares[ch]);
        }
        for (int ch = 0; ch < c; ch++) variance[ch] /= (double)n * s;
    }

    // Planes up to this many floats use stack scratch (16 KB).
    private const int Chunk = 4096;

    /// <summary>The single-threaded, all-double twin of <see cref="Statistics"/>.</summary>
    public static void StatisticsReference(ReadOnlySpan<float> x, int n, int c, int s, Span<double> mean, Span<double> variance)
    {
        Check(x.Length, n, c, s);
        int m = n * s;
        for (int ch = 0; ch < c; ch++)
        {
            double sum = 0;
            for (int i = 0; i < n; i++)
                for (int k = 0; k < s; k++) sum += x[(i * c + ch) * s + k];
            double mu = sum / m, sq = 0;
            for (int i = 0; i < n; i++)
                for (int k = 0; k < s; k++)
                {
                    double d = x[(i * c + ch) * s + k] - mu;
                    sq += d * d;
                }
            mean[ch] = mu;
            variance[ch] = sq / m;
        }
    }

    /// <summary>
    /// y = x·scale[c] + shift[c] per channel (normalization and affine folded into one pass); with <paramref name="relu"/>,
    /// max(0, ·) of it, the values of <see cref="ReluKernel.Forward"/> after it.
    /// </summary>
    public static void ScaleShift(ReadOnlySpan<float> x, Span<float> y, int n, int c, int s, ReadOnlySpan<float> scale,
        ReadOnlySpan<float> shift, bool relu = false) => ScaleShiftAll(x, default, y, n, c, s, scale, shift, relu);

    /// <summary>
    /// y = relu(x·scale[c] + shift[c] + skip) per channel (<see cref="BatchNormPlanes.ScaleShiftAddRelu"/>): the values of
    /// <see cref="ScaleShift"/> and then the residual add and ReLU, in one pass.
    /// </summary>
    public static void ScaleShiftAddRelu(ReadOnlySpan<float> x, ReadOnlySpan<float> skip, Span<float> y, int n, int c, int s,
        ReadOnlySpan<float> scale, ReadOnlySpan<float> shift)
    {
        Check(skip.Length, n, c, s);
        ScaleShiftAll(x, skip, y, n, c, s, scale, shift, relu: true);
    }

    // ScaleShift, and with a skip (not empty) ScaleShiftAddRelu, over the planes in parallel.
    private static unsafe void ScaleShiftAll(ReadOnlySpan<float> x, ReadOnlySpan<float> skip, Span<float> y, int n, int c, int s,
        ReadOnlySpan<float> scale, ReadOnlySpan<float> shift, bool relu)
    {
        Check(x.Length, n, c, s);
        Check(y.Length, n, c, s);
        if (scale.Length < c || shift.Length < c) throw new ArgumentException($"scale and shift need {c} elements");
        int total = n * c * s, skipLength = skip.IsEmpty ? 0 : total;
        fixed (float* px = x, pk = skip, py = y, psc = scale, psh = shift)
        {
            nint xs = (nint)px, ks = (nint)pk, ys = (nint)py, scs = (nint)psc, shs = (nint)psh;
            Parallelism.For(n * c, Math.Max(1, 4096 / Math.Max(1, s)), (p0, p1) => ScaleShiftPlanes(new ReadOnlySpan<float>((float*)xs, total),
                new ReadOnlySpan<float>((float*)ks, skipLength), new Span<float>((float*)ys, total), c, s,
                new ReadOnlySpan<float>((float*)scs, c), new ReadOnlySpan<float>((float*)shs, c), p0, p1, relu));
        }
    }

    /// <summary>The single-threaded twin of <see cref="ScaleShift"/>.</summary>
    public static void ScaleShiftReference(ReadOnlySpan<float> x, Span<float> y, int n, int c, int s,
        ReadOnlySpan<float> scale, ReadOnlySpan<float> shift) =>
        ScaleShiftPlanes(x, default, y, c, s, scale, shift, 0, n * c, relu: false);

    private static void ScaleShiftPlanes(ReadOnlySpan<float> x, ReadOnlySpan<float> skip, Span<float> y, int c, int s,
        ReadOnlySpan<float> scale, ReadOnlySpan<float> shift, int p0, int p1, bool relu)
    {
        for (int plane = p0; plane < p1; plane++)
        {
            int ch = plane % c, off = plane * s;
            if (!skip.IsEmpty) BatchNormPlanes.ScaleShiftAddRelu(x.Slice(off, s), scale[ch], shift[ch], skip.Slice(off, s), y.Slice(off, s));
            else if (relu) BatchNormPlanes.ScaleShiftRelu(x.Slice(off, s), scale[ch], shift[ch], y.Slice(off, s));
            else BatchNormPlanes.ScaleShift(x.Slice(off, s), scale[ch], shift[ch], y.Slice(off, s));
        }
    }

    private static void Check(int length, int n, int c, int s)
    {
        if (n < 0 || c < 0 || s < 0 || length < (long)n * c * s)
            throw new ArgumentException($"buffer of {length} elements is too small for [N={n}, C={c}, S={s}]");
    }
}
