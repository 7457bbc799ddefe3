using CnnLab.Tensors;

namespace CnnLab.Init;

public static partial class Initializers
{
    /// <summary>
    /// LeCun's std: 1/√fan_in, i.e. Var(W) = 1/fan_in. LeCun, Bottou, Orr &amp; Müller (1998), "Efficient BackProp",
    /// in Neural Networks: Tricks of the Trade, §4.6: with inputs of unit variance, weights of variance 1/fan_in
    /// give each unit's sum unit variance. This is the rule the course notes call "Xavier".
    /// </summary>
    public static double LeCunStd(ReadOnlySpan<int> shape) => 1.0 / Math.Sqrt(Fan.Compute(shape).FanIn);

    /// <summary>LeCun uniform: W ~ U(−√(3/fan_in), √(3/fan_in)), Var(W) = 1/fan_in. LeCun et al. 1998, "Efficient BackProp".</summary>
    /// <remarks>PyTorch: no function of this name; equal to <c>kaiming_uniform_(tensor, nonlinearity='linear')</c>
    /// (JAX: <c>lecun_uniform</c>).</remarks>
    public static Tensor LeCunUniform(Tensor tensor, Generator? generator = null)
    {
        if (IsEmpty(tensor)) return tensor;
        double bound = Math.Sqrt(3.0) * LeCunStd(tensor.Shape);
        using (Autograd.NoGrad()) FillUniform(tensor, -bound, bound, Gen(generator));
        return Written(tensor);
    }

    /// <summary>
    /// LeCun normal: W ~ N(0, 1/fan_in). LeCun et al. 1998, "Efficient BackProp". The init SELU networks
    /// expect (Klambauer et al. 2017, arXiv:1706.02515).
    /// </summary>
    /// <remarks>PyTorch: equal to <c>kaiming_normal_(tensor, nonlinearity='linear')</c>. JAX's <c>lecun_normal</c>
    /// draws a truncated normal rescaled to the same variance; CnnLab draws the plain normal.</remarks>
    public static Tensor LeCunNormal(Tensor tensor, Generator? generator = null)
    {
        if (IsEmpty(tensor)) return tensor;
        double std = LeCunStd(tensor.Shape);
        using (Autograd.NoGrad()) FillNormal(tensor, 0.0, std, Gen(generator));
        return Written(tensor);
    }
}
