using System.Reflection;

namespace CnnLab.Data;

/// <summary>
/// Fashion-MNIST (Xiao, Rasul &amp; Vollgraf, 2017, arXiv:1708.07747): 70,000 grayscale 28x28
/// images of clothing in 10 classes, 60,000 for training and 10,000 for testing, in MNIST's IDX
/// layout. MIT licence, Copyright (c) 2017 Zalando SE. A stratified 6,000 / 1,000 subset
/// (600 / 100 per class, made by <c>tools/reference/make_subset.py</c>) is embedded in this
/// assembly so that CnnLab runs with no download.
/// </summary>
/// <remarks>PyTorch: <c>torchvision.datasets.FashionMNIST</c> (same class names and order).</remarks>
public static class FashionMnist
{
    /// <summary>The class names, indexed by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>Mean pixel of the training set after scaling to [0, 1].</summary>
    public const float Mean = 0.2860f;

    /// <summary>Standard deviation of the training pixels after scaling to [0, 1].</summary>
    public const float Std = 0.3530f;

    /// <summary>Images per class in the embedded subset: training and test.</summary>
    public const int SubsetTrainPerClass = 600, SubsetTestPerClass = 100;

    /// <summary>The <c>Source</c> of datasets loaded from the embedded subset.</summary>
    public const string EmbeddedSource = "embedded Fashion-MNIST subset";

    private const string ResourcePrefix = "CnnLab.Data.FashionMnistSubset.";

    /// <summary>Loads the four IDX files from <paramref name="directory"/>.</summary>
    public static TrainTestSplit Load(string directory) => IdxDataset.LoadFolder(directory, "Fashion-MNIST", ClassNames);

    /// <summary>Loads the embedded subset (6,000 training and 1,000 test images).</summary>
    public static TrainTestSplit LoadEmbeddedSubset()
    {
        var assembly = typeof(FashionMnist).Assembly;
        var names = IdxDataset.FileNames.Select(f => f + ".gz").ToArray();
        var arrays = new IdxArray[4];
        Parallel.For(0, 4, i =>
        {
            using var stream = OpenResource(assembly, names[i]);
            arrays[i] = IdxReader.Read(stream, $"embedded:{names[i]}");
        });
        return IdxDataset.Build(arrays, names.Select(n => $"embedded:{n}").ToArray(), "Fashion-MNIST subset", EmbeddedSource, ClassNames);
    }

    /// <summary>
    /// Writes the embedded subset's four <c>.gz</c> IDX files into <paramref name="directory"/> (created if needed), for
    /// programs other than CnnLab that should train on the same images (<c>cnnlab export pytorch</c>).
    /// </summary>
    public static void CopyEmbeddedSubset(string directory)
    {
        Directory.CreateDirectory(directory);
        var assembly = typeof(FashionMnist).Assembly;
        foreach (var name in IdxDataset.FileNames.Select(f => f + ".gz"))
        {
            using var source = OpenResource(assembly, name);
            IO.AtomicFile.Write(Path.Combine(directory, name), source.CopyTo);
        }
    }

    private static Stream OpenResource(Assembly assembly, string fileName) =>
        assembly.GetManifestResourceStream(ResourcePrefix + fileName)
        ?? throw new InvalidOperationException($"resource {ResourcePrefix + fileName} is missing from {assembly.GetName().Name}; "
            + "the build embeds data/fashion-mnist-subset/*.gz");
}
