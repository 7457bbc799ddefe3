using CnnLab.IO;

namespace CnnLab.Data;

/// <summary>Where a <see cref="DataSource"/> found its data.</summary>
public enum DataSourceKind
{
    /// <summary>The folder given on the command line (<c>--data DIR</c>).</summary>
    Argument,

    /// <summary>The folder named by the <c>CNNLAB_DATA</c> environment variable.</summary>
    Environment,

    /// <summary>Debian's package <c>dataset-fashion-mnist</c> (<c>/usr/share/datasets/fashion-mnist</c>).</summary>
    System,

    /// <summary>The 6,000 / 1,000-image Fashion-MNIST subset embedded in the library.</summary>
    Embedded,
}

/// <summary>
/// The data a run uses, found in this order: the folder given by <c>--data DIR</c>, the folder in
/// the <c>CNNLAB_DATA</c> environment variable, Debian's <c>/usr/share/datasets/fashion-mnist</c>
/// (package <c>dataset-fashion-mnist</c>), then the subset embedded in the library.
/// <see cref="Description"/> is the sentence the program prints so the user always knows which.
/// The library reads no environment variable itself: the caller passes the values in.
/// </summary>
/// <remarks>PyTorch: no equivalent (torchvision takes a <c>root</c> folder and may download).</remarks>
public sealed record DataSource(DataSourceKind Kind, string? Directory, string Description)
{
    /// <summary>The environment variable the CLI reads and passes to <see cref="Resolve"/>.</summary>
    public const string EnvironmentVariable = "CNNLAB_DATA";

    /// <summary>Where Debian's package <c>dataset-fashion-mnist</c> installs the four files.</summary>
    public const string SystemDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>How to get the full set, printed when the embedded subset is used.</summary>
    public const string FullSetHint =
        "For the full Fashion-MNIST (60,000 / 10,000 images): sudo apt-get install dataset-fashion-mnist, " +
        "or pass --data DIR (or set CNNLAB_DATA=DIR) with the four IDX files " +
        "(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz).";

    /// <summary>
    /// Picks the data: <paramref name="dataDir"/> (the <c>--data</c> option) if given, else
    /// <paramref name="envValue"/> (the value of <c>CNNLAB_DATA</c>) if non-empty, else
    /// <paramref name="systemDir"/> if it holds the four files, else the embedded subset.
    /// A folder the user named explicitly must exist (a typo is an error, not a silent fallback);
    /// its files are checked when loading.
    /// </summary>
    public static DataSource Resolve(string? dataDir, string? envValue, string systemDir = SystemDirectory)
    {
        if (!string.IsNullOrWhiteSpace(dataDir))
        {
            if (!System.IO.Directory.Exists(dataDir))
                throw new DirectoryNotFoundException($"--data {dataDir}: no such directory");
            return new DataSource(DataSourceKind.Argument, dataDir, $"Data: {dataDir} (--data).");
        }
        if (!string.IsNullOrWhiteSpace(envValue))
        {
            if (!System.IO.Directory.Exists(envValue))
                throw new DirectoryNotFoundException($"{EnvironmentVariable}={envValue}: no such directory");
            return new DataSource(DataSourceKind.Environment, envValue, $"Data: {envValue} ({EnvironmentVariable}).");
        }
        if (IdxDataset.HasFiles(systemDir))
            return new DataSource(DataSourceKind.System, systemDir,
                $"Data: full Fashion-MNIST from {systemDir} (Debian package dataset-fashion-mnist).");
        return new DataSource(DataSourceKind.Embedded, null,
            $"Data: the embedded Fashion-MNIST subset ({10 * FashionMnist.SubsetTrainPerClass:N0} training / "
            + $"{10 * FashionMnist.SubsetTestPerClass:N0} test images). {FullSetHint}");
    }

    /// <summary>
    /// Loads the train and test sets. Folders are read with <paramref name="classNames"/>
    /// (Fashion-MNIST's when null; pass <see cref="Mnist.ClassNames"/> for digits).
    /// </summary>
    public TrainTestSplit Load(IReadOnlyList<string>? classNames = null)
    {
        if (Kind == DataSourceKind.Embedded) return FashionMnist.LoadEmbeddedSubset() with { Format = "embedded" };
        classNames ??= FashionMnist.ClassNames;
        string name = ReferenceEquals(classNames, FashionMnist.ClassNames) ? "Fashion-MNIST"
            : ReferenceEquals(classNames, Mnist.ClassNames) ? "MNIST" : "IDX dataset";
        return IdxDataset.LoadFolder(Directory!, name, classNames);
    }

    /// <summary>
    /// Loads the data in <paramref name="directory"/> (IDX files, CIFAR binary, or class folders of images), for library
    /// users: <c>var data = DataSource.FromFolder("pets", new DatasetOptions { Height = 64, Width = 64 });</c>.
    /// </summary>
    public static TrainTestSplit FromFolder(string directory, DatasetOptions? options = null, ICollection<string>? notes = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!System.IO.Directory.Exists(directory)) throw new DirectoryNotFoundException($"data folder {directory} does not exist");
        return new DataSource(DataSourceKind.Argument, directory, $"Data: {directory}.").Load(options ?? DatasetOptions.Default, notes ?? []);
    }

    /// <summary>
    /// Loads whatever the folder holds, detected in this order: the four IDX files, CIFAR-10/100 binary batches, then
    /// class folders of images (<see cref="ImageFolder"/>). Images are brought to <paramref name="options"/>' channels and
    /// size; <paramref name="notes"/> receives the format found and anything skipped or assumed, for the user.
    /// </summary>
    public TrainTestSplit Load(DatasetOptions options, ICollection<string> notes)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(notes);
        options.Validate();
        TrainTestSplit split;
        if (Kind == DataSourceKind.Embedded || IdxDataset.HasFiles(Directory!))
            split = Load();
        else if (CifarBinary.Find(Directory!) is not null)
            split = CifarBinary.Load(Directory!);
        else if (ImageFolderScan.Looks(Directory!))
            split = ImageFolder.Load(Directory!, options, notes);
        else
            throw new InvalidFileException(Directory!, "holds no data CnnLab reads: expected the four IDX files (train-images-idx3-ubyte[.gz], …), "
                + "CIFAR binary batches (data_batch_1.bin … test_batch.bin, or train.bin and test.bin), "
                + "or one folder of images per class (optionally under train/ and test/)");
        if (split.Preprocessing is null) split = Reshape(split, options);
        if (options.Normalize is { } given)
        {
            given.CheckChannels(split.Train.Channels);
            split = split with { Normalization = given };
        }
        notes.Add($"{FormatName(split.Format)}: {split.Train.Count:N0} training and {split.Test.Count:N0} test images, "
            + $"{split.Train.NumClasses} classes, {split.Preprocessing ?? Stored(split.Train)}; normalization {split.Normalization}");
        return split;
    }

    private static string FormatName(string format) => format switch
    {
        "embedded" => "the embedded Fashion-MNIST subset",
        "idx" => "IDX files",
        "cifar-10" => "CIFAR-10 binary",
        "cifar-100" => "CIFAR-100 binary",
        _ => "an image folder",
    };

    private static ImagePreprocessing Stored(ImageDataset d) => new(d.Channels, d.Height, d.Width);

    // Sets stored at one size (IDX, CIFAR) are converted only when the options ask for other channels or another size.
    private static TrainTestSplit Reshape(TrainTestSplit split, DatasetOptions options)
    {
        var stored = Stored(split.Train);
        var target = new ImagePreprocessing(options.Channels == 0 ? stored.Channels : options.Channels,
            options.Height == 0 ? stored.Height : options.Height, options.Width == 0 ? stored.Width : options.Width, options.CenterCrop);
        if (target with { CenterCrop = false } == stored) return split with { Preprocessing = stored };
        var train = target.ApplyTo(split.Train);
        return new TrainTestSplit(train, target.ApplyTo(split.Test))
        {
            Preprocessing = target, Format = split.Format,
        };
    }
}
