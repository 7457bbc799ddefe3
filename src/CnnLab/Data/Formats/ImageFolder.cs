using System.Collections.Concurrent;
using CnnLab.IO;
using CnnLab.Tensors;

namespace CnnLab.Data;

/// <summary>
/// Loads a folder of images, one subfolder per class (<see cref="ImageFolderScan"/> finds them), into bytes in memory:
/// every image decoded once (<see cref="ImageDecoder"/>), in parallel, and brought to one channel count and size
/// (<see cref="ImagePreprocessing"/>). The decoded set is cached in a file keyed by the file list, the files' sizes and
/// times and the preprocessing, so a second run reads it back instead of decoding. A folder without train/ and test/
/// is split per class, seeded (<see cref="DatasetOptions.ValSplit"/>, 20 % by default).
/// </summary>
/// <remarks>PyTorch: <c>torchvision.datasets.ImageFolder(root, transform=...)</c> (same class order, same files),
/// which decodes every image again each epoch; Keras: <c>image_dataset_from_directory(validation_split=...)</c>.</remarks>
public static class ImageFolder
{
    /// <summary>The test share of a folder without splits when none is given.</summary>
    public const double DefaultValSplit = 0.2;

    /// <summary>Loads <paramref name="directory"/>; <paramref name="notes"/> receives what the user should know.</summary>
    public static TrainTestSplit Load(string directory, DatasetOptions options, ICollection<string> notes)
    {
        options.Validate();
        var scan = ImageFolderScan.Scan(directory);
        if (scan.Ignored.Count > 0)
            notes.Add($"{scan.Ignored.Count} file{(scan.Ignored.Count == 1 ? " is" : "s are")} not an image and ignored "
                + $"(e.g. {scan.Ignored[0]})");
        if (scan.HasSplits && options.ValSplit is not null)
            notes.Add($"--val-split is not used: {directory} has train/ and {scan.TestFolder}/ folders");
        var all = scan.Train.Concat(scan.Test).ToArray();
        var (prep, (pixels, labels, bad)) = DecodeCache.Load(all, options, notes, () =>
        {
            var p = Preprocessing(scan, all, options);
            return (p, DecodeAll(all, p, options));
        });
        if (bad.Count > 0)
            notes.Add($"{bad.Count} image{(bad.Count == 1 ? "" : "s")} could not be decoded and {(bad.Count == 1 ? "was" : "were")} "
                + $"skipped (--skip-bad-images): {string.Join("; ", bad.Take(5))}{(bad.Count > 5 ? "; …" : "")}");
        int trainCount = scan.Train.Count - bad.Count(b => b.Index < scan.Train.Count);
        var kept = new ImageDataset("all", directory, pixels, labels, prep.Channels, prep.Height, prep.Width, scan.ClassNames);
        string name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)));
        if (scan.HasSplits)
        {
            var trainIdx = Enumerable.Range(0, trainCount).ToArray();
            var testIdx = Enumerable.Range(trainCount, kept.Count - trainCount).ToArray();
            return new TrainTestSplit(kept.Subset(trainIdx, $"{name} train"), kept.Subset(testIdx, $"{name} {scan.TestFolder}"))
                { Preprocessing = prep, Format = "image-folder" };
        }
        double share = options.ValSplit ?? DefaultValSplit;
        if (options.ValSplit is null)
            notes.Add($"{directory} has no train/ and test/ folders: {Math.Round(share * 100, 1)}% of each class is kept for testing "
                + $"(--val-split, seed {options.Seed})");
        var (train, test) = StratifiedSplit(kept.Labels, scan.ClassNames.Count, share, options.Seed);
        if (test.Length == 0 || train.Length == 0)
            throw new InvalidFileException(directory, $"--val-split {share} leaves {(test.Length == 0 ? "no test" : "no training")} images "
                + $"out of {kept.Count}");
        return new TrainTestSplit(kept.Subset(train, $"{name} train"), kept.Subset(test, $"{name} val"))
            { Preprocessing = prep, Format = "image-folder" };
    }

    /// <summary>
    /// Per class, a seeded shuffle of its images' positions; the first round(share · n) go to the test part. Both parts
    /// keep the original order.
    /// </summary>
    public static (int[] Train, int[] Test) StratifiedSplit(ReadOnlySpan<int> labels, int classes, double share, long seed)
    {
        var byClass = new List<int>[classes];
        for (int c = 0; c < classes; c++) byClass[c] = [];
        for (int i = 0; i < labels.Length; i++) byClass[labels[i]].Add(i);
        var isTest = new bool[labels.Length];
        var generator = new Generator(seed);
        foreach (var members in byClass)
        {
            var order = members.ToArray();
            generator.Shuffle(order.AsSpan());
            int take = (int)Math.Round(share * order.Length, MidpointRounding.AwayFromZero);
            for (int k = 0; k < take; k++) isTest[order[k]] = true;
        }
        var range = Enumerable.Range(0, labels.Length);
        return (range.Where(i => !isTest[i]).ToArray(), range.Where(i => isTest[i]).ToArray());
    }

    // Channels and size: given, or read from the training images' headers (auto: colour if any is stored in colour; size:
    // all the same).
    private static ImagePreprocessing Preprocessing(ImageFolderScan scan, (string Path, int Label)[] all, DatasetOptions options)
    {
        if (options.Channels != 0 && options.Height != 0)
            return new ImagePreprocessing(options.Channels, options.Height, options.Width, options.CenterCrop);
        var headers = new ImageHeader?[scan.Train.Count];
        var errors = new InvalidFileException?[headers.Length];
        Parallel.For(0, headers.Length, i =>
        {
            try { headers[i] = ReadHeader(all[i].Path); }
            catch (InvalidFileException e) { errors[i] = e; }
        });
        if (!options.SkipBadImages && errors.FirstOrDefault(e => e is not null) is { } bad)
            throw new InvalidFileException(bad.FilePath, bad.Problem + " (--skip-bad-images skips such files)");
        var good = headers.Select((h, i) => (h, i)).Where(x => x.h is not null).ToList();
        if (good.Count == 0) throw new InvalidFileException(scan.Root, "no training image could be read");
        int channels = options.Channels != 0 ? options.Channels : good.Any(x => !x.h!.Value.IsGrey) ? 3 : 1;
        if (options.Height != 0) return new ImagePreprocessing(channels, options.Height, options.Width, options.CenterCrop);
        var first = good[0];
        var other = good.FirstOrDefault(x => x.h!.Value.Width != first.h!.Value.Width || x.h!.Value.Height != first.h!.Value.Height);
        if (other.h is { } o)
            throw new InvalidFileException(scan.Root, $"images differ in size ({first.h!.Value.Width}x{first.h!.Value.Height} " +
                $"{Path.GetRelativePath(scan.Root, all[first.i].Path)}, {o.Width}x{o.Height} "
                + $"{Path.GetRelativePath(scan.Root, all[other.i].Path)}): " +
                "give --image-size N or HxW");
        return new ImagePreprocessing(channels, first.h!.Value.Height, first.h!.Value.Width);
    }

    private static ImageHeader ReadHeader(string path)
    {
        // The header is in the first bytes of every format read here; 64 KiB also covers JPEG's EXIF block before its frame.
        using var stream = OpenRead(path);
        var head = new byte[(int)Math.Min(stream.Length, 1 << 16)];
        stream.ReadExactly(head);
        return ImageDecoder.ReadHeader(head, path);
    }

    private static FileStream OpenRead(string path)
    {
        try { return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidFileException(path, $"cannot read the file: {e.Message}", e);
        }
    }

    /// <summary>Decodes every image in parallel (dynamically divided); the bad ones are skipped or the first is thrown.</summary>
    internal static (byte[] Pixels, int[] Labels, List<BadImage> Bad) DecodeAll((string Path, int Label)[] files, ImagePreprocessing prep,
        DatasetOptions options)
    {
        long imageBytes = (long)prep.Channels * prep.Height * prep.Width;
        if (imageBytes * files.Length > Array.MaxLength)
            throw new ArgumentException($"{files.Length:N0} images of {prep} need {imageBytes * files.Length:N0} bytes, more than one "
                + $"array holds ({Array.MaxLength:N0}); use a smaller --image-size");
        var pixels = new byte[imageBytes * files.Length];
        var errors = new ConcurrentDictionary<int, InvalidFileException>();
        int done = 0;
        Parallel.For(0, files.Length, i =>
        {
            try
            {
                var image = ImageDecoder.Decode(files[i].Path, prep.Channels);
                prep.Apply(image).CopyTo(pixels.AsSpan((int)(i * imageBytes), (int)imageBytes));
            }
            catch (InvalidFileException e) { errors[i] = e; }
            options.Progress?.Invoke(Interlocked.Increment(ref done), files.Length);
        });
        var bad = errors.OrderBy(e => e.Key).Select(e => new BadImage(e.Key, e.Value.Message)).ToList();
        if (bad.Count > 0 && !options.SkipBadImages)
            throw new InvalidFileException(files[bad[0].Index].Path, errors[bad[0].Index].Problem + " (--skip-bad-images skips such files)");
        if (bad.Count == files.Length) throw new ArgumentException("no image could be decoded: " + bad[0].Message);
        var badSet = bad.Select(b => b.Index).ToHashSet();
        var keep = Enumerable.Range(0, files.Length).Where(i => !badSet.Contains(i)).ToArray();
        var labels = keep.Select(i => files[i].Label).ToArray();
        if (bad.Count == 0) return (pixels, labels, bad);
        var packed = new byte[imageBytes * keep.Length];
        for (int k = 0; k < keep.Length; k++)
            pixels.AsSpan((int)(keep[k] * imageBytes), (int)imageBytes).CopyTo(packed.AsSpan((int)(k * imageBytes)));
        return (packed, labels, bad);
    }
}
