using CnnLab.Tensors;

namespace CnnLab.Nn;

/// <summary>
/// Adaptive average pooling to a fixed [OH, OW] whatever the input size (see
/// <see cref="Functional.AdaptiveAvgPool2d"/>); <c>new AdaptiveAvgPool2d(1)</c> is global average
/// pooling (Lin, Chen, Yan 2013, "Network In Network", arXiv:1312.4400).
/// </summary>
/// <remarks>PyTorch: <c>torch.nn.AdaptiveAvgPool2d(output_size)</c>; None entries are not offered.</remarks>
public sealed class AdaptiveAvgPool2d : Module
{
    public AdaptiveAvgPool2d(Pair outputSize)
    {
        if (outputSize.H <= 0 || outputSize.W <= 0)
            throw new ArgumentOutOfRangeException(nameof(outputSize), outputSize.ToString(), "AdaptiveAvgPool2d outputSize must be positive");
        OutputSize = outputSize;
    }

    public Pair OutputSize { get; }

    protected override Tensor ForwardCore(Tensor input) => Functional.AdaptiveAvgPool2d(input, OutputSize);

    protected override string ExtraRepr() => $"output_size={OutputSize}";
}
