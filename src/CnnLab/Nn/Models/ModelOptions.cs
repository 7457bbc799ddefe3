namespace CnnLab.Nn.Models;

/// <summary>How a CNN of the zoo downsamples.</summary>
public enum PoolKind
{
    /// <summary>MaxPool2d(2): keeps the strongest activation of each window ("is this feature present?").</summary>
    Max,

    /// <summary>AvgPool2d(2): keeps the mean of each window.</summary>
    Avg,

    /// <summary>A learned 3x3 convolution with stride 2 in place of pooling.</summary>
    StridedConv,
}

/// <summary>Where ReLU sits relative to pooling in the zoo's CNNs.</summary>
public enum ReluOrder
{
    /// <summary>Conv → ReLU → Pool, the notes' order.</summary>
    BeforePool,

    /// <summary>Conv → Pool → ReLU.</summary>
    AfterPool,
}

/// <summary>Architecture switches the notes discuss, applied to every zoo model that has the part.</summary>
/// <param name="Pool">Downsampling in CNNs (default max pooling).</param>
/// <param name="ReluOrder">ReLU before or after pooling (default before).</param>
/// <param name="InputChannels">Image channels (1 for Fashion-MNIST).</param>
/// <param name="InputHeight">Image height (28 for Fashion-MNIST).</param>
/// <param name="InputWidth">Image width (28 for Fashion-MNIST).</param>
/// <param name="NumClasses">Output classes.</param>
public sealed record ModelOptions(
    PoolKind Pool = PoolKind.Max,
    ReluOrder ReluOrder = ReluOrder.BeforePool,
    int InputChannels = 1,
    int InputHeight = 28,
    int InputWidth = 28,
    int NumClasses = 10)
{
    public static ModelOptions Default { get; } = new();

    /// <summary>The input shape [C, H, W].</summary>
    public int[] InputShape => [InputChannels, InputHeight, InputWidth];

    /// <summary>Options for images of <paramref name="shape"/> [C, H, W] and <paramref name="classes"/> classes.</summary>
    public ModelOptions ForData(IReadOnlyList<int> shape, int classes) =>
        this with { InputChannels = shape[0], InputHeight = shape[1], InputWidth = shape[2], NumClasses = classes };

    /// <summary>Parses "max|avg|conv".</summary>
    public static PoolKind ParsePool(string text) => text.ToLowerInvariant() switch
    {
        "max" => PoolKind.Max,
        "avg" or "average" => PoolKind.Avg,
        "conv" or "strided-conv" => PoolKind.StridedConv,
        _ => throw new ArgumentException($"unknown pool '{text}': expected max, avg or conv"),
    };

    /// <summary>Parses "before-pool|after-pool".</summary>
    public static ReluOrder ParseReluOrder(string text) => text.ToLowerInvariant() switch
    {
        "before-pool" => ReluOrder.BeforePool,
        "after-pool" => ReluOrder.AfterPool,
        _ => throw new ArgumentException($"unknown relu order '{text}': expected before-pool or after-pool"),
    };
}
