using CnnLab.Tensors;

namespace CnnLab.Init;

public static partial class Initializers
{
    /// <summary>
    /// He's std: gain/√fan with gain = <see cref="CalculateGain"/>(nonlinearity, a) and fan = fan_in or fan_out
    /// by <paramref name="mode"/>. He, Zhang, Ren &amp; Sun (2015), "Delving Deep into Rectifiers", arXiv:1502.01852:
    /// a ReLU keeps half of a symmetric input's second moment, so Var(W) = 2/fan_in keeps Var(y) constant
    /// across layers (eq. 10); with a leaky slope a, Var(W) = 2/((1 + a²)·fan_in).
    /// </summary>
    public static double KaimingStd(ReadOnlySpan<int> shape, double a = 0.0, FanMode mode = FanMode.FanIn,
        Nonlinearity nonlinearity = Nonlinearity.LeakyRelu)
    {
        var (fanIn, fanOut) = Fan.Compute(shape);
        int fan = mode == FanMode.FanIn ? fanIn : fanOut;
        double gain = CalculateGain(nonlinearity, a);
        return gain / Math.Sqrt(fan);
    }

    /// <summary>
    /// Kaiming/He uniform: W ~ U(−bound, bound), bound = gain·√(3/fan) = √3·<see cref="KaimingStd"/>, so
    /// Var(W) = gain²/fan. He et al. 2015, arXiv:1502.01852. Defaults as PyTorch: a = 0, fan_in,
    /// nonlinearity leaky_relu (with a = 0 that is ReLU's gain √2).
    /// </summary>
    /// <param name="tensor">The weight, [out, in] or [out, in/groups, k...].</param>
    /// <param name="a">The negative slope of the rectifier that follows (only used with LeakyRelu).</param>
    /// <param name="mode">FanIn preserves the forward variance, FanOut the backward one.</param>
    /// <param name="nonlinearity">The activation that follows; Relu or LeakyRelu are the intended ones.</param>
    /// <param name="generator">The random source (<see cref="Generator.Default"/> if null).</param>
    /// <remarks>PyTorch: <c>torch.nn.init.kaiming_uniform_(tensor, a=0, mode='fan_in', nonlinearity='leaky_relu')</c>;
    /// also known as He initialization.</remarks>
    public static Tensor KaimingUniform(Tensor tensor, double a = 0.0, FanMode mode = FanMode.FanIn,
        Nonlinearity nonlinearity = Nonlinearity.LeakyRelu, Generator? generator = null)
    {
        if (IsEmpty(tensor)) return tensor;
        double bound = Math.Sqrt(3.0) * KaimingStd(tensor.Shape, a, mode, nonlinearity);
        using (Autograd.NoGrad()) FillUniform(tensor, -bound, bound, Gen(generator));
        return Written(tensor);
    }

    /// <summary>
    /// Kaiming/He normal: W ~ N(0, std²), std = gain/√fan. He et al. 2015, arXiv:1502.01852. Defaults as
    /// <see cref="KaimingUniform"/>. The init the notes prescribe for ReLU nets and deep CNNs.
    /// </summary>
    /// <remarks>PyTorch: <c>torch.nn.init.kaiming_normal_(tensor, a=0, mode='fan_in', nonlinearity='leaky_relu')</c>.</remarks>
    public static Tensor KaimingNormal(Tensor tensor, double a = 0.0, FanMode mode = FanMode.FanIn,
        Nonlinearity nonlinearity = Nonlinearity.LeakyRelu, Generator? generator = null)
    {
        if (IsEmpty(tensor)) return tensor;
        double std = KaimingStd(tensor.Shape, a, mode, nonlinearity);
        using (Autograd.NoGrad()) FillNormal(tensor, 0.0, std, Gen(generator));
        return Written(tensor);
    }
}
