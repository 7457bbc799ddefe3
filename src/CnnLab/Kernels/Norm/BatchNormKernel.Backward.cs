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
        if (mean.Length < c || invStd.Length < c || sumDy.Length < c || sumDyXhat.Length < c)
            throw new ArgumentException($"per-channel spans need {c} elements");
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
            Parallelism.For(c, 1, (c0, c1) =>
            {
                Span<float> scratch = s <= Chunk ? stackalloc float[s] : new float[s];
                for (int ch = c0; ch < c1; ch++)
                    (((double*)sa)[ch], ((double*)sb)[ch]) =
                        ChannelSums(dy, (float*)xs, n, c, s, ch, ((double*)ms)[ch], ((double*)iss)[ch], scratch, null, null);
            });
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
        if (mean.Length < c || invStd.Length < c || gamma.Length < c || sumDy.Length < c || sumDyXhat.Length < c)
            throw new ArgumentException($"per-channel spans need {c} elements");
        double m = (double)n * s;
        fixed (float* px = x, pdx = dx)
        fixed (double* pm = mean, pi = invStd, pg = gamma, pa = sumDy, pb = sumDyXhat)
        {
            nint xs = (nint)px, dxs = (nint)pdx, ms = (nint)pm, iss = (nint)pi, gs = (nint)pg, sa = (nint)pa, sb = (nint)pb;
            // A channel's rebuilt planes (of a fused op's dy) are kept for its dx pass when they fit in L2.
            bool keep = needDx && (long)n * s <= KeptPlanesMax;
            Parallelism.For(c, 1, (c0, c1) =>
            {
                float[]? kept = keep ? ArrayPool<float>.Shared.Rent(n * s) : null;
                bool[]? wasKept = keep ? new bool[n] : null;
                Span<float> scratch = s <= Chunk ? stackalloc float[s] : new float[s];
                for (int ch = c0; ch < c1; ch++)
                {
                    double invStdCh = ((double*)iss)[ch];
                    var (sumDyCh, sumDyXhatCh) = ChannelSums(dy, (float*)xs, n, c, s, ch, ((double*)ms)[ch], invStdCh, scratch, kept, wasKept);
                    ((double*)sa)[ch] = sumDyCh;
                    ((double*)sb)[ch] = sumDyXhatCh;
                    if (!needDx) continue;
                    // dx, as InputGradientFrom, from the kept planes where there are some.
                    float mu = (float)((double*)ms)[ch];
                    var (a, b, cc) = InputGradientCoefficients(((double*)gs)[ch], invStdCh, sumDyCh, sumDyXhatCh, m);
                    for (int i = 0; i < n; i++)
                    {
                        long plane = (long)i * c + ch;
                        bool fromKept = wasKept is not null && wasKept[i];
                        if (i + 1 < n)
                        {
                            if (!(wasKept is not null && wasKept[i + 1])) dy.Prefetch(plane + c);
                            PlaneGradient.PrefetchRange((float*)xs + (plane + c) * s, s);
                        }
                        var g = fromKept ? kept!.AsSpan(i * s, s) : dy.Plane(plane, scratch);
                        BatchNormPlanes.InputGradient(g, new ReadOnlySpan<float>((float*)xs + plane * s, s), mu, a, b, cc,
                            new Span<float>((float*)dxs + plane * s, s));
                    }
                }
                if (kept is not null) ArrayPool<float>.Shared.Return(kept);
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

    // Σ dy and Σ dy·x̂ of channel ch: per plane float sums in one pass (Σ dy·x̂ = invStd · Σ dy·(x − μ)), the
    // planes added in double in image order. The planes are N·C·S floats apart, runs too short for the
    // hardware prefetchers, so the next one is prefetched. With kept (N·S floats), a rebuilt plane i is
    // left at kept[i·S] and wasKept[i] says so (a stored dy is read where it is).
    private static unsafe (double SumDy, double SumDyXhat) ChannelSums(PlaneGradient dy, float* x, int n, int c, int s, int ch,
        double mean, double invStd, Span<float> scratch, float[]? kept, bool[]? wasKept)
    {
        float mu = (float)mean;
        double a = 0, b = 0;
        for (int i = 0; i < n; i++)
        {
            long plane = (long)i * c + ch;
            if (i + 1 < n)
            {
                dy.Prefetch(plane + c);
                PlaneGradient.PrefetchRange(x + (plane + c) * s, s);
            }
            var into = kept is null ? scratch : kept.AsSpan(i * s, s);
            var g = dy.Plane(plane, into);
            if (wasKept is not null) wasKept[i] = g.Overlaps(into);
            var (sumG, sumGDeviation) = BatchNormPlanes.GradientSums(g, new ReadOnlySpan<float>(x + plane * s, s), mu);
            a += sumG;
            b += sumGDeviation;
        }
        return (a, b * invStd);
    }

    // The per-channel a = γ·invStd, b = −γ·invStd²·Σ(dy·x̂)/M, c = −γ·invStd·Σdy/M of dx = a·dy + b·(x − μ) + c.
    private static (float A, float B, float C) InputGradientCoefficients(double gamma, double invStd, double sumDy, double sumDyXhat, double m)
    {
        double k = gamma * invStd;
        return ((float)k, (float)(-k * invStd * sumDyXhat / m), (float)(-k * sumDy / m));
    }

    /// <summary>
    /// What <see cref="BatchNormPlanes.InputGradient"/> takes for each channel's planes, four floats per
    /// channel: μ, a, b, c of dx = a·dy + b·(x − μ) + c (see <see cref="InputGradient"/>), M = N·S.
    /// </summary>
    internal static float[] PlaneCoefficients(int n, int c, int s, ReadOnlySpan<double> mean, ReadOnlySpan<double> invStd, ReadOnlySpan<double> gamma,
        ReadOnlySpan<double> sumDy, ReadOnlySpan<double> sumDyXhat)
    {
        double m = (double)n * s;
        var coefficients = new float[4 * c];
        for (int ch = 0; ch < c; ch++)
        {
            coefficients[4 * ch] = (float)mean[ch];
            (coefficients[4 * ch + 1], coefficients[4 * ch + 2], coefficients[4 * ch + 3]) =
                InputGradientCoefficients(gamma[ch], invStd[ch], sumDy[ch], sumDyXhat[ch], m);
        }
        return coefficients;
    }

    /// <summary>
    /// The input gradient of batch norm with batch statistics, dx = γ·invStd/M · (M·dy − Σdy − x̂·Σ(dy·x̂))
    /// with x̂ = (x − μ)·invStd, computed per plane as dx = a·dy + b·(x − μ) + c with the per-channel
    /// a = γ·invStd, b = −γ·invStd²·Σ(dy·x̂)/M, c = −γ·invStd·Σdy/M. Overwrites dx.
    /// </summary>
    public static unsafe void InputGradient(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dx, int n, int c, int s,
        ReadOnlySpan<double> mean, ReadOnlySpan<double> invStd, ReadOnlySpan<double> gamma,
        ReadOnlySpan<double> sumDy, ReadOnlySpan<double> sumDyXhat)
    {
        Check(dy.Length, n, c, s);
        fixed (float* pdy = dy)
            InputGradientFrom(new StoredPlanes(pdy, s), x, dx, n, c, s, mean, invStd, gamma, sumDy, sumDyXhat);
    }

    /// <summary><see cref="InputGradient"/> with dy supplied plane by plane.</summary>
    internal static unsafe void InputGradientFrom(PlaneGradient dy, ReadOnlySpan<float> x, Span<float> dx, int n, int c, int s,
        ReadOnlySpan<double> mean, ReadOnlySpan<double> invStd, ReadOnlySpan<double> gamma,
        ReadOnlySpan<double> sumDy, ReadOnlySpan<double> sumDyXhat)
    {
        Check(x.Length, n, c, s);
        Check(dx.Length, n, c, s);
        if (mean.Length < c || invStd.Length < c || gamma.Length < c || sumDy.Length < c || sumDyXhat.Length < c)
            throw new ArgumentException($"per-channel spans need {c} elements");
        var coefficients = PlaneCoefficients(n, c, s, mean, invStd, gamma, sumDy, sumDyXhat);
        fixed (float* px = x, pdx = dx)
        {
            nint xs = (nint)px, dxs = (nint)pdx;
            Parallelism.For(n * c, Math.Max(1, 4096 / Math.Max(1, s)), (p0, p1) =>
            {
                Span<float> scratch = s <= Chunk ? stackalloc float[s] : new float[s];
                for (int plane = p0; plane < p1; plane++)
                {
                    int ch = plane % c;
                    BatchNormPlanes.InputGradient(dy.Plane(plane, scratch), new ReadOnlySpan<float>((float*)xs + (long)plane * s, s),
                        coefficients[4 * ch], coefficients[4 * ch + 1], coefficients[4 * ch + 2], coefficients[4 * ch + 3],
                        new Span<float>((float*)dxs + (long)plane * s, s));
                }
            });
        }
    }

    /// <summary>The scalar, all-double twin of <see cref="InputGradient"/> (the formula as written).</summary>
    public static void InputGradientReference(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dx, int n, int c, int s,
        ReadOnlySpan<double> mean, ReadOnlySpan<double> invStd, ReadOnlySpan<double> gamma,
        ReadOnlySpan<double> sumDy, ReadOnlySpan<double> sumDyXhat)
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
