namespace CnnLab.Data;

/// <summary>
/// MNIST (LeCun, Bottou, Bengio &amp; Haffner, 1998): 70,000 grayscale 28x28 handwritten digits,
/// 60,000 for training and 10,000 for testing, in the IDX format. Any set with the same four
/// files (e.g. KMNIST) loads the same way through <see cref="IdxDataset.LoadFolder"/>.
/// </summary>
/// <remarks>PyTorch: <c>torchvision.datasets.MNIST</c>; the normalization constants are the ones
/// of PyTorch's MNIST example (0.1307, 0.3081).</remarks>
public static class Mnist
{
    /// <summary>The class names: the digits "0" to "9".</summary>
    public static IReadOnlyList<string> ClassNames { get; } = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    /// <summary>Mean pixel of the training set after scaling to [0, 1].</summary>
    public const float Mean = 0.1307f;

    /// <summary>Standard deviation of the training pixels after scaling to [0, 1].</summary>
    public const float Std = 0.3081f;

    /// <summary>Loads the four IDX files from <paramref name="directory"/>.</summary>
    public static TrainTestSplit Load(string directory) => IdxDataset.LoadFolder(directory, "MNIST", ClassNames);
}
