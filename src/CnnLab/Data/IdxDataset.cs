using CnnLab.IO;

namespace CnnLab.Data;

/// <summary>
/// Loads an image-classification set stored as the four standard IDX files of MNIST's layout:
/// <c>train-images-idx3-ubyte</c> [N, H, W], <c>train-labels-idx1-ubyte</c> [N],
/// <c>t10k-images-idx3-ubyte</c>, <c>t10k-labels-idx1-ubyte</c>, each raw or gzip-compressed
/// (<c>.gz</c>; the spelling <c>train-images.idx3-ubyte</c> is accepted too). Images of any
/// H x W are accepted as long as train and test agree; labels must lie in [0, number of classes).
/// </summary>
/// <remarks>PyTorch: <c>torchvision.datasets.MNIST</c> and its subclasses (FashionMNIST, KMNIST)
/// reading their <c>raw/</c> folder; CnnLab does not download.</remarks>
public static class IdxDataset
{
    /// <summary>The four file names without compression suffix: train images, train labels, test images, test labels.</summary>
    public static IReadOnlyList<string> FileNames { get; } =
        ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

    /// <summary>Loads the four files from <paramref name="directory"/>; <paramref name="name"/> prefixes the datasets' names.</summary>
    public static TrainTestSplit LoadFolder(string directory, string name, IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"data directory {directory} does not exist");
        var paths = FileNames.Select(f => FindFile(directory, f)).ToArray();
        var arrays = new IdxArray[4];
        try
        {
            Parallel.For(0, 4, i => arrays[i] = IdxReader.Read(paths[i])); // the two image files dominate: inflate them side by side
        }
        catch (AggregateException e)
        {
            // Report the first bad file as the reader's own error (InvalidFileException, IOException), not wrapped.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.Flatten().InnerExceptions[0]).Throw();
        }
        return Build(arrays, paths, name, directory, classNames);
    }

    /// <summary>True if <paramref name="directory"/> holds all four files (raw or .gz).</summary>
    public static bool HasFiles(string directory) =>
        Directory.Exists(directory) && FileNames.All(f => TryFindFile(directory, f) is not null);

    /// <summary>
    /// Checks and assembles four IDX arrays (train images, train labels, test images, test labels;
    /// <paramref name="fileNames"/> name them in errors) into a train/test pair.
    /// </summary>
    public static TrainTestSplit Build(IReadOnlyList<IdxArray> arrays, IReadOnlyList<string> fileNames, string name,
        string source, IReadOnlyList<string> classNames)
    {
        if (arrays.Count != 4 || fileNames.Count != 4)
            throw new ArgumentException("expected four IDX arrays: train images, train labels, test images, test labels");
        var train = Make(arrays[0], fileNames[0], arrays[1], fileNames[1], $"{name} train", source, classNames);
        var test = Make(arrays[2], fileNames[2], arrays[3], fileNames[3], $"{name} test", source, classNames);
        if (test.Height != train.Height || test.Width != train.Width)
            throw new InvalidFileException(fileNames[2],
                $"images are {test.Height}x{test.Width}, but the training images ({fileNames[0]}) are {train.Height}x{train.Width}");
        return new TrainTestSplit(train, test);
    }

    private static ImageDataset Make(IdxArray images, string imagesName, IdxArray labels, string labelsName, string name,
        string source, IReadOnlyList<string> classNames)
    {
        if (images.Dims.Length != 3)
            throw new InvalidFileException(imagesName,
                $"images have dims {IdxReader.FormatDims(images.Dims)}; expected 3 dimensions [count, height, width]");
        if (labels.Dims.Length != 1)
            throw new InvalidFileException(labelsName, $"labels have dims {IdxReader.FormatDims(labels.Dims)}; expected 1 dimension [count]");
        if (images.Count != labels.Count)
            throw new InvalidFileException(labelsName,
                $"{labels.Count:N0} labels, but {imagesName} has {images.Count:N0} images; expected one label per image");
        var y = new int[labels.Count];
        for (int i = 0; i < y.Length; i++)
        {
            y[i] = labels.Data[i];
            if (y[i] >= classNames.Count)
                throw new InvalidFileException(labelsName,
                    $"label {y[i]} of item {i} is outside [0, {classNames.Count}) ({classNames.Count} classes)");
        }
        return new ImageDataset(name, source, images.Data, y, 1, images.Dims[1], images.Dims[2], classNames);
    }

    private static string FindFile(string directory, string fileName) =>
        TryFindFile(directory, fileName)
        ?? throw new FileNotFoundException(
            $"{directory} has no {fileName} (nor {fileName}.gz); a data folder holds the four IDX files {string.Join(", ", FileNames)} (raw or .gz)",
            Path.Combine(directory, fileName));

    private static string? TryFindFile(string directory, string fileName)
    {
        string dotted = fileName.Replace("-idx", ".idx", StringComparison.Ordinal);
        foreach (var candidate in new[] { fileName + ".gz", fileName, dotted + ".gz", dotted })
        {
            var path = Path.Combine(directory, candidate);
            if (File.Exists(path)) return path;
        }
        return null;
    }
}
