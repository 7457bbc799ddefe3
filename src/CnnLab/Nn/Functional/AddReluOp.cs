using CnnLab.Kernels;
using CnnLab.Tensors;

namespace CnnLab.Nn;

public static partial class Functional
{
    /// <summary>
    /// relu(a + b) for a and b of one shape, as one op: a residual block's add and the ReLU after it (He et al. 2016,
    /// arXiv:1512.03385) in one pass over memory, and one mask for both gradients: da = db = dy·[y &gt; 0]. The same bits
    /// as <c>Relu(Add(a, b))</c>. The fusion pass runs a <see cref="Residual"/> followed by a <see cref="ReLU"/> this way.
    /// </summary>
    /// <remarks>PyTorch: <c>torch.relu(a + b)</c>, which oneDNN and TorchInductor fuse the same way.</remarks>
    public static Tensor AddRelu(Tensor a, Tensor b)
    {
        if (!Shape.Equal(a.Shape, b.Shape))
            throw new ArgumentException($"AddRelu needs one shape, got {Shape.Format(a.Shape)} and {Shape.Format(b.Shape)}");
        var y = Tensor.ForOp(a.Shape);
        ElementwiseLoop.Map(new AddReluForward(), a.Elements, b.Elements, b.Elements, y.Elements);
        // y = max(0, a + b)  →  da = db = dy · [y > 0]: one tensor for both (as PyTorch's add hands dy to both inputs; the
        // engine sums gradients into fresh buffers, so neither input's consumer writes into the other's).
        return Autograd.Record(y, "AddReluBackward", [a, b], dy =>
        {
            var d = Tensor.ForOp(a.Shape);
            ReluKernel.Backward(y.Elements, dy.Elements, d.Elements);
            return [a.RequiresGrad ? d : null, b.RequiresGrad ? d : null];
        });
    }
}
