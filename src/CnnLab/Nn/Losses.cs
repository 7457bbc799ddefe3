using CnnLab.Tensors;

namespace CnnLab.Nn;

/// <summary>Fused log-softmax + NLL over class indices, mean reduction. See <see cref="Functional.CrossEntropy"/>.</summary>
/// <remarks>PyTorch: <c>torch.nn.CrossEntropyLoss(label_smoothing=0.0)</c>.</remarks>
public sealed class CrossEntropyLoss(float labelSmoothing = 0f)
{
    public float LabelSmoothing { get; } = labelSmoothing is >= 0f and <= 1f
        ? labelSmoothing
        : throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing, "label_smoothing must be between 0.0 and 1.0");

    public Tensor Forward(Tensor logits, ReadOnlySpan<int> targets) => Functional.CrossEntropy(logits, targets, LabelSmoothing);
}

/// <summary>Negative log-likelihood of log-probabilities, mean reduction. <remarks>PyTorch: <c>torch.nn.NLLLoss</c>.</remarks></summary>
public sealed class NLLLoss
{
    public Tensor Forward(Tensor logProbs, ReadOnlySpan<int> targets) => Functional.NllLoss(logProbs, targets);
}

/// <summary>Mean squared error. <remarks>PyTorch: <c>torch.nn.MSELoss</c>.</remarks></summary>
public sealed class MSELoss
{
    public Tensor Forward(Tensor input, Tensor target) => Functional.MseLoss(input, target);
}

/// <summary>Softmax along a dim (default the last). <remarks>PyTorch: <c>torch.nn.Softmax(dim)</c>.</remarks></summary>
public sealed class Softmax(int dim = -1) : Module
{
    public int Dim { get; } = dim;

    protected override Tensor ForwardCore(Tensor input) => Functional.Softmax(input, Dim);

    protected override string ExtraRepr() => $"dim={Dim}";
}

/// <summary>Log-softmax along a dim (default the last). <remarks>PyTorch: <c>torch.nn.LogSoftmax(dim)</c>.</remarks></summary>
public sealed class LogSoftmax(int dim = -1) : Module
{
    public int Dim { get; } = dim;

    protected override Tensor ForwardCore(Tensor input) => Functional.LogSoftmax(input, Dim);

    protected override string ExtraRepr() => $"dim={Dim}";
}
