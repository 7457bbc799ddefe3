using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

// Legend: one plane of S floats (one image's channel); μ the channel's mean; g the plane's output gradient.

/// <summary>
/// Batch norm's per-plane loops, each one pass over a plane with everything it needs fused in, for
/// <see cref="BatchNormKernel"/> and <see cref="BatchNormReluMaxPoolKernel"/>. A plane is small (784 or
/// 196 floats in the zoo), so a chain of library calls (subtract, then multiply, then sum ...) costs
/// mostly call overhead and extra trips through L1: these loops read each input once and keep the
/// partial results in registers. With AVX-512 they run 16 lanes with a scalar tail; otherwise they
/// fall back to the same chain of <see cref="TensorPrimitives"/> calls as before. Every caller of a
/// quantity uses the same loop, so fused and unfused ops still agree bit for bit.
/// </summary>
internal static class BatchNormPlanes
{
    private static bool Fast => Vector512.IsHardwareAccelerated;

    /// <summary>y = x·scale + shift (a product, then a sum: two roundings, as the unfused ops).</summary>
    public static unsafe void ScaleShift(ReadOnlySpan<float> x, float scale, float shift, Span<float> y) => Affine(x, scale, shift, y, relu: false);

    /// <summary>y = max(0, x·scale + shift), NaN kept (the values of <see cref="ScaleShift"/> then <see cref="ReluKernel.Forward"/>).</summary>
    public static unsafe void ScaleShiftRelu(ReadOnlySpan<float> x, float scale, float shift, Span<float> y) =>
        Affine(x, scale, shift, y, relu: true);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Affine(ReadOnlySpan<float> x, float scale, float shift, Span<float> y, bool relu)
    {
        int n = x.Length;
        if (y.Length < n) throw new ArgumentException($"output has {y.Length} elements, needs {n}");
        if (!Fast)
        {
            TensorPrimitives.Multiply(x, scale, y);
            TensorPrimitives.Add(y[..n], shift, y);
            if (relu) TensorPrimitives.Max(y[..n], 0f, y);
            return;
        }
        fixed (float* px = x, py = y)
        {
            var s = Vector512.Create(scale);
            var h = Vector512.Create(shift);
            int i = 0;
            for (; i <= n - 16; i += 16)
            {
                var v = Vector512.Load(px + i) * s + h;
                if (relu) v = Relu(v);
                v.Store(py + i);
            }
            for (; i < n; i++)
            {
                float v = px[i] * scale + shift;
                py[i] = relu ? Relu(v) : v;
            }
        }
    }

    /// <summary>
    /// y = relu((x·scale + shift) + skip), NaN kept: a residual block's last batch norm, its add and its ReLU in one pass, the
    /// values of <see cref="ScaleShift"/> and then <see cref="AddReluForward"/> (each operation rounded as they round it).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void ScaleShiftAddRelu(ReadOnlySpan<float> x, float scale, float shift, ReadOnlySpan<float> skip, Span<float> y)
    {
        int n = x.Length;
        if (y.Length < n || skip.Length < n) throw new ArgumentException($"skip has {skip.Length} and output {y.Length} elements, need {n}");
        var lanes = new AddReluForward();
        fixed (float* px = x, pk = skip, py = y)
        {
            int i = 0;
            if (Fast)
            {
                Vector512<float> s = Vector512.Create(scale), h = Vector512.Create(shift);
                for (; i <= n - 16; i += 16)
                    lanes.Invoke(Vector512.Load(px + i) * s + h, Vector512.Load(pk + i), default).Store(py + i);
            }
            for (; i < n; i++) py[i] = lanes.Invoke(px[i] * scale + shift, pk[i], 0f);
        }
    }

    /// <summary>
    /// max(0, v·scale + shift) of one vector, as <see cref="ScaleShiftRelu(ReadOnlySpan{float}, float, float, Span{float})"/>
    /// computes each element.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ScaleShiftRelu(Vector512<float> v, Vector512<float> scale, Vector512<float> shift) => Relu(v * scale + shift);

    /// <summary>
    /// max(0, v·scale + shift) of one value, as <see cref="ScaleShiftRelu(ReadOnlySpan{float}, float, float, Span{float})"/>
    /// computes each element.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ScaleShiftRelu(float v, float scale, float shift) => Relu(v * scale + shift);

    // max(0, v) as TensorPrimitives.Max(v, 0) has it: NaN stays, −0 and negatives become +0.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Relu(Vector512<float> v) =>
        Vector512.ConditionalSelect(Vector512.GreaterThan(v, Vector512<float>.Zero) | ~Vector512.Equals(v, v), v, Vector512<float>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Relu(float v) => !(v > 0f) && !float.IsNaN(v) ? 0f : v;

    /// <summary>
    /// The plane's mean and Σ (x − mean)², both passes over the plane while it is in L1: the second
    /// sums (x − m)² around m = the mean rounded to float and subtracts S·(mean − m)², which is the same
    /// sum exactly (Σ (x − m)² = Σ (x − mean)² + S·(mean − m)²).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe (double Mean, double SquaredDeviations) MeanAndSquaredDeviations(ReadOnlySpan<float> x)
    {
        int n = x.Length;
        if (n == 0) return (0, 0);
        double mean = Sum(x) / n;
        float mu = (float)mean;
        if (!Fast)
        {
            Span<float> deviation = n <= 4096 ? stackalloc float[n] : new float[n];
            TensorPrimitives.Subtract(x, mu, deviation);
            // The deviations from m are exact and small, so their sum corrects a mean whose float sum lost digits far from zero, and
            // Σ (x − m)² − S·shift² is Σ (x − mean)² for that mean.
            double shift = TensorPrimitives.Sum(deviation) / (double)n;
            return (mu + shift, TensorPrimitives.SumOfSquares(deviation) - n * shift * shift);
        }
        fixed (float* px = x)
        {
            var m = Vector512.Create(mu);
            Vector512<float> a0 = default, a1 = default;
            int i = 0;
            for (; i <= n - 32; i += 32)
            {
                var d0 = Vector512.Load(px + i) - m;
                var d1 = Vector512.Load(px + i + 16) - m;
                a0 = Vector512.FusedMultiplyAdd(d0, d0, a0);
                a1 = Vector512.FusedMultiplyAdd(d1, d1, a1);
            }
            for (; i <= n - 16; i += 16)
            {
                var d0 = Vector512.Load(px + i) - m;
                a0 = Vector512.FusedMultiplyAdd(d0, d0, a0);
            }
            float sq = Vector512.Sum(a0 + a1);
            for (; i < n; i++)
            {
                float d = px[i] - mu;
                sq += d * d;
            }
            return (mean, sq - n * (mean - mu) * (mean - mu));
        }
    }

    /// <summary>Σ x over the plane, in float lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe float Sum(ReadOnlySpan<float> x)
    {
        if (!Fast) return TensorPrimitives.Sum(x);
        int n = x.Length;
        fixed (float* px = x)
        {
            Vector512<float> a0 = default, a1 = default;
            int i = 0;
            for (; i <= n - 32; i += 32)
            {
                a0 += Vector512.Load(px + i);
                a1 += Vector512.Load(px + i + 16);
            }
            for (; i <= n - 16; i += 16) a0 += Vector512.Load(px + i);
            float sum = Vector512.Sum(a0 + a1);
            for (; i < n; i++) sum += px[i];
            return sum;
        }
    }

    /// <summary>(Σ g, Σ g·(x − μ)) over the plane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe (float SumG, float SumGDeviation) GradientSums(ReadOnlySpan<float> g, ReadOnlySpan<float> x, float mu)
    {
        int n = g.Length;
        if (x.Length < n) throw new ArgumentException($"x has {x.Length} elements, needs {n}");
        if (!Fast)
        {
            Span<float> deviation = n <= 4096 ? stackalloc float[n] : new float[n];
            TensorPrimitives.Subtract(x[..n], mu, deviation);
            return (TensorPrimitives.Sum(g), TensorPrimitives.Dot(g, deviation));
        }
        fixed (float* pg = g, px = x)
        {
            var m = Vector512.Create(mu);
            Vector512<float> s0 = default, s1 = default, d0 = default, d1 = default;
            int i = 0;
            for (; i <= n - 32; i += 32)
            {
                var g0 = Vector512.Load(pg + i);
                var g1 = Vector512.Load(pg + i + 16);
                s0 += g0;
                s1 += g1;
                d0 = Vector512.FusedMultiplyAdd(g0, Vector512.Load(px + i) - m, d0);
                d1 = Vector512.FusedMultiplyAdd(g1, Vector512.Load(px + i + 16) - m, d1);
            }
            for (; i <= n - 16; i += 16)
            {
                var g0 = Vector512.Load(pg + i);
                s0 += g0;
                d0 = Vector512.FusedMultiplyAdd(g0, Vector512.Load(px + i) - m, d0);
            }
            float sumG = Vector512.Sum(s0 + s1), sumGd = Vector512.Sum(d0 + d1);
            for (; i < n; i++)
            {
                sumG += pg[i];
                sumGd += pg[i] * (px[i] - mu);
            }
            return (sumG, sumGd);
        }
    }

    /// <summary>dx = g·a + (x − μ)·b + c, evaluated left to right with a rounding after each operation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void InputGradient(ReadOnlySpan<float> g, ReadOnlySpan<float> x, float mu, float a, float b, float c, Span<float> dx)
    {
        int n = g.Length;
        if (x.Length < n || dx.Length < n) throw new ArgumentException($"x and dx need {n} elements");
        if (!Fast)
        {
            Span<float> deviation = n <= 4096 ? stackalloc float[n] : new float[n];
            TensorPrimitives.Subtract(x[..n], mu, deviation);
            TensorPrimitives.Multiply(deviation, b, deviation);
            TensorPrimitives.MultiplyAdd(g, a, deviation, dx);
            TensorPrimitives.Add(dx[..n], c, dx);
            return;
        }
        fixed (float* pg = g, px = x, pd = dx)
        {
            var m = Vector512.Create(mu);
            var va = Vector512.Create(a);
            var vb = Vector512.Create(b);
            var vc = Vector512.Create(c);
            int i = 0;
            for (; i <= n - 16; i += 16)
                (Vector512.Load(pg + i) * va + (Vector512.Load(px + i) - m) * vb + vc).Store(pd + i);
            for (; i < n; i++) pd[i] = pg[i] * a + (px[i] - mu) * b + c;
        }
    }
}
