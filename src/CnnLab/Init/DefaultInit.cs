using CnnLab.Tensors;

namespace CnnLab.Init;

/// <summary>
/// The initialization PyTorch's Conv2d and Linear give themselves in <c>reset_parameters</c>:
/// weight ~ kaiming_uniform(a = √5) and bias ~ U(-1/√fan_in, 1/√fan_in).
/// kaiming_uniform with a = √5 has gain √(2/(1+a²)) = √(1/3) and bound gain·√(3/fan_in) = 1/√fan_in,
/// so both draw from U(-1/√fan_in, 1/√fan_in): variance bound²/3 = 1/(3·fan_in), a third of
/// LeCun's 1/fan_in and a sixth of He's 2/fan_in — small enough that deep plain ReLU stacks shrink.
/// </summary>
/// <remarks>PyTorch: <c>torch.nn.Linear.reset_parameters</c>, <c>torch.nn.Conv2d.reset_parameters</c>.</remarks>
public static class DefaultInit
{
    /// <summary>The weight's a = √5 in PyTorch's <c>kaiming_uniform_(self.weight, a=math.sqrt(5))</c>.</summary>
    public static readonly double KaimingA = Math.Sqrt(5.0);

    /// <summary>Fills <paramref name="weight"/> (and <paramref name="bias"/> if given) as PyTorch's layers do.</summary>
    public static void Apply(Tensor weight, Tensor? bias, Generator generator)
    {
        Initializers.KaimingUniform(weight, KaimingA, FanMode.FanIn, Nonlinearity.LeakyRelu, generator);
        if (bias is not null)
        {
            double bound = BiasBound(weight.Shape);
            Initializers.Uniform(bias, -bound, bound, generator);
        }
    }

    /// <summary>The weight's bound √3·gain/√fan_in with gain = √(2/(1+5)), computed in PyTorch's order (≈ 1/√fan_in).</summary>
    public static double WeightBound(ReadOnlySpan<int> weightShape) =>
        Math.Sqrt(3.0) * Initializers.KaimingStd(weightShape, KaimingA, FanMode.FanIn, Nonlinearity.LeakyRelu);

    /// <summary>The bias's bound 1/√fan_in (0 when fan_in is 0), as PyTorch's <c>reset_parameters</c>.</summary>
    public static double BiasBound(ReadOnlySpan<int> weightShape)
    {
        var (fanIn, _) = Fan.Compute(weightShape);
        return fanIn > 0 ? 1.0 / Math.Sqrt(fanIn) : 0.0;
    }
}
