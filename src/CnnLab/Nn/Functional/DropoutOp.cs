using CnnLab.Tensors;

namespace CnnLab.Nn;

public static partial class Functional
{
    /// <summary>
    /// Inverted dropout (Srivastava et al. 2014, JMLR 15): in training, each element is zeroed with
    /// probability p and the survivors are scaled by 1/(1−p), so the expected value is unchanged and
    /// evaluation needs no rescaling. Outside training it returns the input.
    /// </summary>
    /// <remarks>PyTorch: <c>torch.nn.functional.dropout</c>. The mask comes from <paramref name="generator"/>,
    /// so it differs from PyTorch's draws but has the same distribution.</remarks>
    public static Tensor Dropout(Tensor x, float p, bool training, Generator generator)
    {
        if (p < 0f || p > 1f) throw new ArgumentOutOfRangeException(nameof(p), p, "dropout probability has to be between 0 and 1");
        if (!training || p == 0f) return x;
        var mask = new float[x.Numel];
        float scale = p == 1f ? 0f : 1f / (1f - p);
        for (int i = 0; i < mask.Length; i++) mask[i] = generator.NextDouble() < p ? 0f : scale;
        var y = Tensor.ForOp(x.Shape);
        TensorPrimitives.Multiply(x.Elements, mask, y.Elements);
        // y = x · m  →  dx = dy · m
        return Autograd.Record(y, "DropoutBackward", [x], dy =>
        {
            var dx = Tensor.ForOp(x.Shape);
            TensorPrimitives.Multiply(dy.Elements, mask, dx.Elements);
            return [dx];
        });
    }
}
