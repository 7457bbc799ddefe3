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
    /// <summary>Fills <paramref name="weight"/> (and <paramref name="bias"/> if given) as PyTorch's layers do.</summary>
    public static void Apply(Tensor weight, Tensor? bias, Generator generator)
    {
        var (fanIn, _) = Fan.Compute(weight.Shape);
        float bound = fanIn > 0 ? 1f / MathF.Sqrt(fanIn) : 0f;
        generator.FillUniform(weight.Data, -bound, bound);
        if (bias is not null) generator.FillUniform(bias.Data, -bound, bound);
    }
}
