using CnnLab.Tensors;

namespace CnnLab.Nn;

/// <summary>max(0, x). <remarks>PyTorch: <c>torch.nn.ReLU</c>.</remarks></summary>
public sealed class ReLU : Module
{
    protected override Tensor ForwardCore(Tensor input) => Functional.Relu(input);
}

/// <summary>x if x ≥ 0 else negativeSlope·x (default 0.01). <remarks>PyTorch: <c>torch.nn.LeakyReLU(negative_slope=0.01)</c>.</remarks></summary>
public sealed class LeakyReLU(float negativeSlope = 0.01f) : Module
{
    public float NegativeSlope { get; } = negativeSlope;

    protected override Tensor ForwardCore(Tensor input) => Functional.LeakyRelu(input, NegativeSlope);

    protected override string ExtraRepr() => FormattableString.Invariant($"negative_slope={NegativeSlope}");
}

/// <summary>1 / (1 + e⁻ˣ). <remarks>PyTorch: <c>torch.nn.Sigmoid</c>.</remarks></summary>
public sealed class Sigmoid : Module
{
    protected override Tensor ForwardCore(Tensor input) => Functional.Sigmoid(input);
}

/// <summary>tanh(x). <remarks>PyTorch: <c>torch.nn.Tanh</c>.</remarks></summary>
public sealed class Tanh : Module
{
    protected override Tensor ForwardCore(Tensor input) => Functional.Tanh(input);
}

/// <summary>x·Φ(x), exact form. <remarks>PyTorch: <c>torch.nn.GELU(approximate='none')</c>.</remarks></summary>
public sealed class GELU : Module
{
    protected override Tensor ForwardCore(Tensor input) => Functional.Gelu(input);
}

/// <summary>x if x &gt; 0 else α(eˣ − 1), default α = 1. <remarks>PyTorch: <c>torch.nn.ELU(alpha=1.0)</c>.</remarks></summary>
public sealed class ELU(float alpha = 1f) : Module
{
    public float Alpha { get; } = alpha;

    protected override Tensor ForwardCore(Tensor input) => Functional.Elu(input, Alpha);

    protected override string ExtraRepr() => FormattableString.Invariant($"alpha={Alpha}");
}

/// <summary>Returns its input. <remarks>PyTorch: <c>torch.nn.Identity</c>.</remarks></summary>
public sealed class Identity : Module
{
    protected override Tensor ForwardCore(Tensor input) => input;
}
