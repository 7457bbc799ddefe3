using CnnLab.Kernels;
using CnnLab.Tensors;

namespace CnnLab.Nn;

public static partial class Functional
{
    /// <summary>ReLU(x) = max(0, x) (Nair &amp; Hinton 2010). NaN stays NaN, as in PyTorch.</summary>
    public static Tensor Relu(Tensor x)
    {
        var y = Tensor.ForOp(x.Shape);
        ReluKernel.Forward(x.Data, y.Data);
        // y = max(0, x)  →  dx = dy · [y > 0]
        return Autograd.Record(y, "ReluBackward", [x], dy =>
        {
            var dx = Tensor.ForOp(x.Shape);
            ReluKernel.Backward(y.Data, dy.Data, dx.Data);
            return [dx];
        });
    }

    /// <summary>LeakyReLU(x) = x if x ≥ 0 else slope·x (Maas et al. 2013), default slope 0.01.</summary>
    public static Tensor LeakyRelu(Tensor x, float negativeSlope = 0.01f)
    {
        var y = Tensor.ForOp(x.Shape);
        var xs = x.Data; var ys = y.Data;
        for (int i = 0; i < ys.Length; i++) ys[i] = xs[i] > 0f ? xs[i] : xs[i] * negativeSlope;
        // y = x > 0 ? x : s·x  →  dx = dy · (x > 0 ? 1 : s)
        return Autograd.Record(y, "LeakyReluBackward", [x], dy =>
        {
            var dx = Tensor.ForOp(x.Shape);
            var xd = x.Data; var g = dy.Data; var d = dx.Data;
            for (int i = 0; i < d.Length; i++) d[i] = xd[i] > 0f ? g[i] : g[i] * negativeSlope;
            return [dx];
        });
    }

    /// <summary>σ(x) = 1 / (1 + e⁻ˣ).</summary>
    public static Tensor Sigmoid(Tensor x)
    {
        var y = Tensor.ForOp(x.Shape);
        TensorPrimitives.Sigmoid(x.Data, y.Data);
        // y = σ(x)  →  dx = dy · y · (1 − y)
        return Autograd.Record(y, "SigmoidBackward", [x], dy =>
        {
            var dx = Tensor.ForOp(x.Shape);
            var ys = y.Data; var g = dy.Data; var d = dx.Data;
            for (int i = 0; i < d.Length; i++) d[i] = g[i] * ys[i] * (1f - ys[i]);
            return [dx];
        });
    }

    /// <summary>tanh(x).</summary>
    public static Tensor Tanh(Tensor x)
    {
        var y = Tensor.ForOp(x.Shape);
        TensorPrimitives.Tanh(x.Data, y.Data);
        // The vectorized tanh computes (e²ˣ − 1)/(e²ˣ + 1), which cancels near 0 (tanh(0) comes out
        // −6e-8, an absolute error of ~6e-8 near 0): for |x| < 1/8 use the odd series
        // x − x³/3 + 2x⁵/15 − 17x⁷/315 (the next term is below 1.4e-9 relative there).
        var xs = x.Data; var yd = y.Data;
        for (int i = 0; i < yd.Length; i++)
        {
            float v = xs[i];
            if (MathF.Abs(v) < 0.125f)
            {
                float v2 = v * v;
                yd[i] = v * (1f - v2 * (1f / 3f - v2 * (2f / 15f - v2 * (17f / 315f))));
            }
        }
        // y = tanh x  →  dx = dy · (1 − y²)
        return Autograd.Record(y, "TanhBackward", [x], dy =>
        {
            var dx = Tensor.ForOp(x.Shape);
            var ys = y.Data; var g = dy.Data; var d = dx.Data;
            for (int i = 0; i < d.Length; i++) d[i] = g[i] * (1f - ys[i] * ys[i]);
            return [dx];
        });
    }

    /// <summary>
    /// GELU(x) = x·Φ(x) with the exact normal CDF Φ(x) = ½(1 + erf(x/√2)) (Hendrycks &amp; Gimpel 2016,
    /// arXiv:1606.08415); PyTorch's default approximate='none'.
    /// </summary>
    public static Tensor Gelu(Tensor x)
    {
        var y = Tensor.ForOp(x.Shape);
        var xs = x.Data; var ys = y.Data;
        for (int i = 0; i < ys.Length; i++) ys[i] = (float)(xs[i] * NormalCdf(xs[i]));
        // y = x·Φ(x)  →  dx = dy · (Φ(x) + x·φ(x)),  φ(x) = e^(−x²/2)/√(2π)
        return Autograd.Record(y, "GeluBackward", [x], dy =>
        {
            var dx = Tensor.ForOp(x.Shape);
            var xd = x.Data; var g = dy.Data; var d = dx.Data;
            for (int i = 0; i < d.Length; i++)
            {
                double v = xd[i];
                d[i] = (float)(g[i] * (NormalCdf(v) + v * Math.Exp(-0.5 * v * v) / Math.Sqrt(2 * Math.PI)));
            }
            return [dx];
        });
    }

    /// <summary>ELU(x) = x if x &gt; 0 else α(eˣ − 1) (Clevert et al. 2015, arXiv:1511.07289), default α = 1.</summary>
    public static Tensor Elu(Tensor x, float alpha = 1f)
    {
        var y = Tensor.ForOp(x.Shape);
        var xs = x.Data; var ys = y.Data;
        for (int i = 0; i < ys.Length; i++) ys[i] = xs[i] > 0f ? xs[i] : alpha * (MathF.Exp(xs[i]) - 1f);
        // y = x > 0 ? x : α(eˣ − 1)  →  dx = dy · (x > 0 ? 1 : y + α)
        return Autograd.Record(y, "EluBackward", [x], dy =>
        {
            var dx = Tensor.ForOp(x.Shape);
            var xd = x.Data; var yd = y.Data; var g = dy.Data; var d = dx.Data;
            for (int i = 0; i < d.Length; i++) d[i] = xd[i] > 0f ? g[i] : g[i] * (yd[i] + alpha);
            return [dx];
        });
    }

    // Φ(x) = ½ erfc(−x/√2).
    private static double NormalCdf(double x) => 0.5 * Erfc(-x / Math.Sqrt(2));

    // Complementary error function, Numerical Recipes' Chebyshev fit (relative error below 1.2e-7,
    // ample for float32); .NET has no Math.Erf.
    private static double Erfc(double x)
    {
        double z = Math.Abs(x);
        double t = 1.0 / (1.0 + 0.5 * z);
        double r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
            + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
            + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2.0 - r;
    }
}
