using CnnLab.IO;

namespace CnnLab.Data;

/// <summary>
/// CIFAR-10 and CIFAR-100 (Krizhevsky 2009, "Learning Multiple Layers of Features from Tiny Images") in their binary
/// versions: 32x32 RGB images stored as records of label byte(s) and 3072 pixel bytes, the red plane, then green, then
/// blue, each row-major — already the [C, H, W] layout. CIFAR-10: <c>data_batch_1.bin</c> … <c>data_batch_5.bin</c>
/// (training) and <c>test_batch.bin</c>, one label byte per record, names in <c>batches.meta.txt</c>. CIFAR-100:
/// <c>train.bin</c> and <c>test.bin</c>, a coarse and a fine label byte per record (the 100 fine labels are used),
/// names in <c>fine_label_names.txt</c>. The folders as extracted (<c>cifar-10-batches-bin/</c>,
/// <c>cifar-100-binary/</c>) are found inside the given one too.
/// </summary>
/// <remarks>PyTorch: <c>torchvision.datasets.CIFAR10</c> / <c>CIFAR100</c> read the Python pickles of the same data;
/// the records, labels and class order are the same.</remarks>
public static class CifarBinary
{
    private const int PixelBytes = 3 * 32 * 32;

    /// <summary>The folder holding a CIFAR set in or below <paramref name="directory"/> and which it is (10 or 100), or null.</summary>
    public static (string Folder, int Classes)? Find(string directory)
    {
        foreach (var dir in new[] { directory, Path.Combine(directory, "cifar-10-batches-bin"), Path.Combine(directory, "cifar-100-binary") })
        {
            if (File.Exists(Path.Combine(dir, "test_batch.bin"))) return (dir, 10);
            if (File.Exists(Path.Combine(dir, "train.bin")) && File.Exists(Path.Combine(dir, "test.bin"))) return (dir, 100);
        }
        return null;
    }

    /// <summary>Loads the CIFAR set in or below <paramref name="directory"/>.</summary>
    public static TrainTestSplit Load(string directory)
    {
        var (dir, classes) = Find(directory) ?? throw new InvalidFileException(directory, "holds no CIFAR binary files "
            + "(data_batch_1.bin … test_batch.bin for CIFAR-10, train.bin and test.bin for CIFAR-100)");
        string[] trainFiles = classes == 10
            ? Enumerable.Range(1, 5).Select(i => Path.Combine(dir, $"data_batch_{i}.bin")).Where(File.Exists).ToArray()
            : [Path.Combine(dir, "train.bin")];
        if (trainFiles.Length == 0) throw new InvalidFileException(dir, "has test_batch.bin but no data_batch_1.bin … data_batch_5.bin");
        string testFile = Path.Combine(dir, classes == 10 ? "test_batch.bin" : "test.bin");
        var names = ClassNames(dir, classes);
        string name = classes == 10 ? "CIFAR-10" : "CIFAR-100";
        var train = Read(trainFiles, classes, names, $"{name} train", dir);
        var test = Read([testFile], classes, names, $"{name} test", dir);
        return new TrainTestSplit(train, test) { Format = classes == 10 ? "cifar-10" : "cifar-100" };
    }

    private static ImageDataset Read(string[] files, int classes, IReadOnlyList<string> names, string name, string source)
    {
        int labelBytes = classes == 10 ? 1 : 2, record = labelBytes + PixelBytes;
        long total = 0;
        foreach (var f in files)
        {
            long length = new FileInfo(f).Length;
            if (length == 0 || length % record != 0)
                throw new InvalidFileException(f, $"is {length:N0} bytes, not a whole number of {record}-byte CIFAR-{classes} records");
            total += length / record;
        }
        if (total * PixelBytes > Array.MaxLength) throw new InvalidFileException(files[0], $"{total:N0} images do not fit in memory as one set");
        var pixels = new byte[total * PixelBytes];
        var labels = new int[total];
        int n = 0;
        var buffer = new byte[record];
        foreach (var f in files)
        {
            using var stream = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            long count = stream.Length / record;
            for (long k = 0; k < count; k++, n++)
            {
                stream.ReadExactly(buffer);
                int label = buffer[labelBytes - 1];
                if (label >= classes)
                    throw new InvalidFileException(f, $"record {k} has label {label}, outside 0..{classes - 1}");
                labels[n] = label;
                buffer.AsSpan(labelBytes).CopyTo(pixels.AsSpan(n * PixelBytes, PixelBytes));
            }
        }
        return new ImageDataset(name, source, pixels, labels, 3, 32, 32, names);
    }

    // The names file when present (one per line), else the published names in label order.
    private static IReadOnlyList<string> ClassNames(string dir, int classes)
    {
        string file = Path.Combine(dir, classes == 10 ? "batches.meta.txt" : "fine_label_names.txt");
        if (File.Exists(file))
        {
            var lines = Budgets.ReadTextFile(file, "the class names").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
            if (lines.Length != classes) throw new InvalidFileException(file, $"lists {lines.Length} class names, expected {classes}");
            return lines;
        }
        return classes == 10 ? Cifar10Names : Cifar100Names;
    }

    /// <summary>CIFAR-10's classes in label order.</summary>
    public static IReadOnlyList<string> Cifar10Names { get; } =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>CIFAR-100's fine classes in label order.</summary>
    public static IReadOnlyList<string> Cifar100Names { get; } =
    [
        "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle", "bowl", "boy", "bridge", "bus",
        "butterfly", "camel", "can", "castle", "caterpillar", "cattle", "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch",
        "crab", "crocodile", "cup", "dinosaur", "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house",
        "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle",
        "mountain", "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
        "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket", "rose", "sea", "seal", "shark",
        "shrew", "skunk", "skyscraper", "snail", "snake", "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table",
        "tank", "telephone", "television", "tiger", "tractor", "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree",
        "wolf", "woman", "worm",
    ];
}
