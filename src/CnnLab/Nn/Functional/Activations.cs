using CnnLab.Kernels;
using CnnLab.Tensors;

namespace CnnLab.Nn;

public static partial class Functional
{
    /// <summary>ReLU(x) = max(0, x) (Nair &amp; Hinton 2010). NaN stays NaN, as in PyTorch.</summary>
    public static Tensor Relu(Tensor x)
    {
        var y = Tensor.ForOp(x.Shape);
        ReluKernel.Forward(x.Elements, y.Elements);
        // y = max(0, x)  →  dx = dy · [y > 0]
        return Autograd.Record(y, "ReluBackward", [x], dy =>
        {
            var dx = Tensor.ForOp(x.Shape);
            ReluKernel.Backward(y.Elements, dy.Elements, dx.Elements);
            return [dx];
        });
    }

    /// <summary>LeakyReLU(x) = x if x ≥ 0 else slope·x (Maas et al. 2013), default slope 0.01.</summary>
    public static Tensor LeakyRelu(Tensor x, float negativeSlope = 0.01f)
    {
        var y = Tensor.ForOp(x.Shape);
        ElementwiseLoop.Map(new LeakyReluForward(negativeSlope), x.Elements, y.Elements);
        // y = x > 0 ? x : s·x  →  dx = dy · (x > 0 ? 1 : s)
        return Autograd.Record(y, "LeakyReluBackward", [x], dy =>
        {
            var dx = Tensor.ForOp(x.Shape);
            ElementwiseLoop.Map(new LeakyReluBackward(negativeSlope), x.Elements, y.Elements, dy.Elements, dx.Elements);
            return [dx];
        });
    }

    /// <summary>σ(x) = 1 / (1 + e⁻ˣ).</summary>
    public static Tensor Sigmoid(Tensor x)
    {
        var y = Tensor.ForOp(x.Shape);
        ElementwiseLoop.Map(new SigmoidForward(), x.Elements, y.Elements);
        // y = σ(x)  →  dx = dy · y · (1 − y)
        return Autograd.Record(y, "SigmoidBackward", [x], dy =>
        {
            var dx = Tensor.ForOp(x.Shape);
            ElementwiseLoop.Map(new SigmoidBackward(), x.Elements, y.Elements, dy.Elements, dx.Elements);
            return [dx];
        });
    }

    /// <summary>tanh(x).</summary>
    public static Tensor Tanh(Tensor x)
    {
        var y = Tensor.ForOp(x.Shape);
        ElementwiseLoop.Map(new TanhForward(), x.Elements, y.Elements);
        // y = tanh x  →  dx = dy · (1 − y²)
        return Autograd.Record(y, "TanhBackward", [x], dy =>
        {
            var dx = Tensor.ForOp(x.Shape);
            ElementwiseLoop.Map(new TanhBackward(), x.Elements, y.Elements, dy.Elements, dx.Elements);
            return [dx];
        });
    }

    /// <summary>
    /// GELU(x) = x·Φ(x) with the exact normal CDF Φ(x) = ½(1 + erf(x/√2)) (Hendrycks &amp; Gimpel 2016,
    /// arXiv:1606.08415); PyTorch's default approximate='none', computed as PyTorch's CPU kernel does
    /// (<see cref="GeluForward"/>).
    /// </summary>
    public static Tensor Gelu(Tensor x)
    {
        var y = Tensor.ForOp(x.Shape);
        ElementwiseLoop.Map(new GeluForward(), x.Elements, y.Elements);
        // y = x·Φ(x)  →  dx = dy · (Φ(x) + x·φ(x)),  φ(x) = e^(−x²/2)/√(2π)
        return Autograd.Record(y, "GeluBackward", [x], dy =>
        {
            var dx = Tensor.ForOp(x.Shape);
            ElementwiseLoop.Map(new GeluBackward(), x.Elements, y.Elements, dy.Elements, dx.Elements);
            return [dx];
        });
    }

    /// <summary>ELU(x) = x if x &gt; 0 else α(eˣ − 1) (Clevert et al. 2015, arXiv:1511.07289), default α = 1.</summary>
    public static Tensor Elu(Tensor x, float alpha = 1f)
    {
        var y = Tensor.ForOp(x.Shape);
        ElementwiseLoop.Map(new EluForward(alpha), x.Elements, y.Elements);
        // y = x > 0 ? x : α(eˣ − 1)  →  dx = dy · (x > 0 ? 1 : y + α)
        return Autograd.Record(y, "EluBackward", [x], dy =>
        {
            var dx = Tensor.ForOp(x.Shape);
            ElementwiseLoop.Map(new EluBackward(alpha), x.Elements, y.Elements, dy.Elements, dx.Elements);
            return [dx];
        });
    }
}
