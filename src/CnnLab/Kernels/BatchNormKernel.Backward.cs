using System.Buffers;

namespace CnnLab.Kernels;

// Legend as in BatchNormKernel.cs; dy the gradient of y, x̂ = (x − μ)·invStd.

public static partial class BatchNormKernel
{
    // Floats of one channel's rebuilt dy planes that BackwardFrom keeps for its second pass (2 MB).
    private const int KeptPlanesMax = 1 << 19;

    /// <summary>Per-channel Σ dy and Σ dy·x̂ where x̂ = (x − mean)·invStd.</summary>
    public static unsafe void GradientSums(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, int n, int c, int s,
        ReadOnlySpan<double> mean, ReadOnlySpan<double> invStd, Span<double> sumDy, Span<double> sumDyXhat)
    {
        Check(dy.Length, n, c, s);
        Check(x.Length, n, c, s);
        if (mean.Length < c || invStd.Length < c || sumDy.Length < c || sumDyXhat.Length < c) throw new ArgumentException($"per-channel spans need {c} elements");
        fixed (float* pdy = dy)
            GradientSumsFrom(new StoredPlanes(pdy, s), x, n, c, s, mean, invStd, sumDy, sumDyXhat);
    }

    /// <summary><see cref="GradientSums"/> with dy supplied plane by plane.</summary>
    internal static unsafe void GradientSumsFrom(PlaneGradient dy, ReadOnlySpan<float> x, int n, int c, int s,
        ReadOnlySpan<double> mean, ReadOnlySpan<double> invStd, Span<double> sumDy, Span<double> sumDyXhat)
    {
        fixed (float* px = x)
        fixed (double* pm = mean, pi = invStd, pa = sumDy, pb = sumDyXhat)
        {
            nint xs = (nint)px, ms = (nint)pm, iss = (nint)pi, sa = (nint)pa, sb = (nint)pb;
            Parallelism.For(c, 1, (c0, c1) => GradientSumsChannels(dy, new ReadOnlySpan<float>((float*)xs, n * c * s),
                n, c, s, new ReadOnlySpan<double>((double*)ms, c), new ReadOnlySpan<double>((double*)iss, c),
                new Span<double>((double*)sa, c), new Span<double>((double*)sb, c), c0, c1));
        }
    }

    /// <summary>
    /// <see cref="GradientSumsFrom"/> and then <see cref="InputGradientFrom"/> (batch statistics), one
    /// channel at a time: a channel's dy, x (and, for a fused op, its pooled values and indices) are read
    /// for its sums and again for its dx while they are still in L2 (~0.7 MB for cnn-bn's first layer at
    /// batch 128), instead of two passes over the whole batch from memory. The same per-plane loops and
    /// sums, so the same bits as the two calls. A fused op's rebuilt dy planes are kept between the two
    /// passes (up to <see cref="KeptPlanesMax"/> floats per channel) instead of rebuilt again.
    /// </summary>
    internal static unsafe void BackwardFrom(PlaneGradient dy, ReadOnlySpan<float> x, Span<float> dx, int n, int c, int s,
        ReadOnlySpan<double> mean, ReadOnlySpan<double> invStd, ReadOnlySpan<double> gamma, Span<double> sumDy, Span<double> sumDyXhat)
    {
        Check(x.Length, n, c, s);
        bool needDx = !dx.IsEmpty;
        if (needDx) Check(dx.Length, n, c, s);
        if (mean.Length < c || invStd.Length < c || gamma.Length < c || sumDy.Length < c || sumDyXhat.Length < c) throw new ArgumentException($"per-channel spans need {c} elements");
        double m = (double)n * s;
        fixed (float* px = x, pdx = dx)
        fixed (double* pm = mean, pi = invStd, pg = gamma, pa = sumDy, pb = sumDyXhat)
        {
            nint xs = (nint)px, dxs = (nint)pdx, ms = (nint)pm, iss = (nint)pi, gs = (nint)pg, sa = (nint)pa, sb = (nint)pb;
            // A channel's rebuilt planes (of a fused op's dy) are kept for its dx pass when they fit in L2.
            bool keep = needDx && (long)n * s <= KeptPlanesMax;
            Parallelism.For(c, 1, (c0, c1) =>
            {
                var xAll = new ReadOnlySpan<float>((float*)xs, n * c * s);
                var meanAll = new ReadOnlySpan<double>((double*)ms, c);
                var invStdAll = new ReadOnlySpan<double>((double*)iss, c);
                var sumDyAll = new Span<double>((double*)sa, c);
                var sumDyXhatAll = new Span<double>((double*)sb, c);
                float[] kept = keep ? ArrayPool<float>.Shared.Rent(n * s) : [];
                var wasKept = keep ? new bool[n] : [];
                Span<float> scratch = s <= Chunk ? stackalloc float[s] : new float[s];
                for (int ch = c0; ch < c1; ch++)
                {
                    // The sums, as GradientSumsChannels.
                    float mu = (float)meanAll[ch];
                    double sa0 = 0, sb0 = 0;
                    for (int i = 0; i < n; i++)
                    {
                        long plane = (long)i * c + ch;
                        if (i + 1 < n)
                        {
                            dy.Prefetch(plane + c);
                            PlaneGradient.PrefetchRange((float*)xs + (plane + c) * s, s);
                        }
                        var into = keep ? kept.AsSpan(i * s, s) : scratch;
                        var g = dy.Plane(plane, into);
                        if (keep) wasKept[i] = g.Overlaps(into);
                        var (sumG, sumGDeviation) = BatchNormPlanes.GradientSums(g, xAll.Slice((int)(plane * s), s), mu);
                        sa0 += sumG;
                        sb0 += sumGDeviation;
                    }
                    sumDyAll[ch] = sa0;
                    sumDyXhatAll[ch] = sb0 * invStdAll[ch];
                    if (!needDx) continue;
                    // dx, as InputGradientFrom.
                    double k = ((double*)gs)[ch] * invStdAll[ch];
                    float a = (float)k, b = (float)(-k * invStdAll[ch] * sumDyXhatAll[ch] / m), cc = (float)(-k * sumDyAll[ch] / m);
                    for (int i = 0; i < n; i++)
                    {
                        long plane = (long)i * c + ch;
                        if (i + 1 < n)
                        {
                            if (!(keep && wasKept[i + 1])) dy.Prefetch(plane + c);
                            PlaneGradient.PrefetchRange((float*)xs + (plane + c) * s, s);
                        }
                        var g = keep && wasKept[i] ? kept.AsSpan(i * s, s) : dy.Plane(plane, scratch);
                        BatchNormPlanes.InputGradient(g, xAll.Slice((int)(plane * s), s), mu, a, b, cc, new Span<float>((float*)dxs + plane * s, s));
                    }
                }
                if (keep) ArrayPool<float>.Shared.Return(kept);
            });
        }
    }

    /// <summary>The single-threaded, all-double twin of <see cref="GradientSums"/>.</summary>
    public static void GradientSumsReference(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, int n, int c, int s,
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

    private static void GradientSumsChannels(PlaneGradient dy, ReadOnlySpan<float> x, int n, int c, int s,
        ReadOnlySpan<double> mean, ReadOnlySpan<double> invStd, Span<double> sumDy, Span<double> sumDyXhat, int c0, int c1)
    {
        Span<float> scratch = s <= Chunk ? stackalloc float[s] : new float[s];
        for (int ch = c0; ch < c1; ch++)
        {
            // Σ dy·x̂ = invStd · Σ dy·(x − μ): per plane float sums in one pass, the planes added in double.
            double a = 0, b = 0;
            for (int i = 0; i < n; i++)
            {
                var g = dy.Plane(i * c + ch, scratch);
                var (sumG, sumGDeviation) = BatchNormPlanes.GradientSums(g, x.Slice((i * c + ch) * s, s), (float)mean[ch]);
                a += sumG;
                b += sumGDeviation;
            }
            sumDy[ch] = a;
            sumDyXhat[ch] = b * invStd[ch];
        }
    }

    /// <summary>
    /// The input gradient of batch norm with batch statistics, dx = γ·invStd/M · (M·dy − Σdy − x̂·Σ(dy·x̂))
    /// with x̂ = (x − μ)·invStd, computed per plane as dx = a·dy + b·(x − μ) + c with the per-channel
    /// a = γ·invStd, b = −γ·invStd²·Σ(dy·x̂)/M, c = −γ·invStd·Σdy/M. Overwrites dx.
    /// </summary>
    public static unsafe void InputGradient(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dx, int n, int c, int s,
        ReadOnlySpan<double> mean, ReadOnlySpan<double> invStd, ReadOnlySpan<double> gamma, ReadOnlySpan<double> sumDy, ReadOnlySpan<double> sumDyXhat)
    {
        Check(dy.Length, n, c, s);
        fixed (float* pdy = dy)
            InputGradientFrom(new StoredPlanes(pdy, s), x, dx, n, c, s, mean, invStd, gamma, sumDy, sumDyXhat);
    }

    /// <summary><see cref="InputGradient"/> with dy supplied plane by plane.</summary>
    internal static unsafe void InputGradientFrom(PlaneGradient dy, ReadOnlySpan<float> x, Span<float> dx, int n, int c, int s,
        ReadOnlySpan<double> mean, ReadOnlySpan<double> invStd, ReadOnlySpan<double> gamma, ReadOnlySpan<double> sumDy, ReadOnlySpan<double> sumDyXhat)
    {
        Check(x.Length, n, c, s);
        Check(dx.Length, n, c, s);
        if (mean.Length < c || invStd.Length < c || gamma.Length < c || sumDy.Length < c || sumDyXhat.Length < c) throw new ArgumentException($"per-channel spans need {c} elements");
        double m = (double)n * s;
        var coefficients = new float[4 * c];
        for (int ch = 0; ch < c; ch++)
        {
            double k = gamma[ch] * invStd[ch];
            coefficients[4 * ch] = (float)mean[ch];
            coefficients[4 * ch + 1] = (float)k;
            coefficients[4 * ch + 2] = (float)(-k * invStd[ch] * sumDyXhat[ch] / m);
            coefficients[4 * ch + 3] = (float)(-k * sumDy[ch] / m);
        }
        fixed (float* px = x, pdx = dx)
        {
            nint xs = (nint)px, dxs = (nint)pdx;
            Parallelism.For(n * c, Math.Max(1, 4096 / Math.Max(1, s)), (p0, p1) =>
            {
                Span<float> scratch = s <= Chunk ? stackalloc float[s] : new float[s];
                for (int plane = p0; plane < p1; plane++)
                {
                    int ch = plane % c;
                    BatchNormPlanes.InputGradient(dy.Plane(plane, scratch), new ReadOnlySpan<float>((float*)xs + (long)plane * s, s), coefficients[4 * ch],
                        coefficients[4 * ch + 1], coefficients[4 * ch + 2], coefficients[4 * ch + 3], new Span<float>((float*)dxs + (long)plane * s, s));
                }
            });
        }
    }

    /// <summary>The scalar, all-double twin of <see cref="InputGradient"/> (the formula as written).</summary>
    public static void InputGradientReference(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dx, int n, int c, int s,
        ReadOnlySpan<double> mean, ReadOnlySpan<double> invStd, ReadOnlySpan<double> gamma, ReadOnlySpan<double> sumDy, ReadOnlySpan<double> sumDyXhat)
    {
        double m = (double)n * s;
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < c; ch++)
            {
                double k = gamma[ch] * invStd[ch] / m;
                int off = (i * c + ch) * s;
                for (int q = 0; q < s; q++)
                {
                    double xhat = (x[off + q] - mean[ch]) * invStd[ch];
                    dx[off + q] = (float)(k * (m * dy[off + q] - sumDy[ch] - xhat * sumDyXhat[ch]));
                }
            }
    }
}
