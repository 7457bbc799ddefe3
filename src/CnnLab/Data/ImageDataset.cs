using CnnLab.Tensors;

namespace CnnLab.Data;

/// <summary>
/// A labelled set of small images kept as bytes: <see cref="Count"/> images of shape
/// [<see cref="Channels"/>, <see cref="Height"/>, <see cref="Width"/>], row-major (NCHW), one
/// label in [0, <see cref="NumClasses"/>) each. Bytes take a quarter of the memory of floats; the
/// <see cref="DataLoader"/> converts and normalizes a batch at a time.
/// </summary>
/// <remarks>PyTorch: a map-style <c>torch.utils.data.Dataset</c> such as
/// <c>torchvision.datasets.FashionMNIST</c> (which also stores uint8 and converts per item).</remarks>
public sealed class ImageDataset
{
    private readonly byte[] _pixels;
    private readonly int[] _labels;

    /// <summary>
    /// Wraps <paramref name="pixels"/> (count·channels·height·width bytes, not copied) and
    /// <paramref name="labels"/> (not copied). Throws if the sizes disagree or a label is outside
    /// [0, classNames.Count).
    /// </summary>
    public ImageDataset(string name, string source, byte[] pixels, int[] labels, int channels, int height, int width,
        IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(classNames);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        if (classNames.Count == 0) throw new ArgumentException("a dataset needs at least one class name", nameof(classNames));
        long imageSize = (long)channels * height * width;
        if (imageSize * labels.Length != pixels.Length)
            throw new ArgumentException(
                $"{pixels.Length} pixel bytes do not hold {labels.Length} images of {channels}x{height}x{width} ({imageSize * labels.Length} bytes)",
                nameof(pixels));
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)classNames.Count)
                throw new ArgumentException($"label {labels[i]} of image {i} is outside [0, {classNames.Count})", nameof(labels));
        Name = name;
        Source = source;
        _pixels = pixels;
        _labels = labels;
        Channels = channels;
        Height = height;
        Width = width;
        ClassNames = classNames;
    }

    /// <summary>A short name, e.g. "Fashion-MNIST train".</summary>
    public string Name { get; }

    /// <summary>Where the images came from (a folder, or the embedded subset).</summary>
    public string Source { get; }

    /// <summary>Number of images.</summary>
    public int Count => _labels.Length;

    public int Channels { get; }

    public int Height { get; }

    public int Width { get; }

    /// <summary>Bytes per image: Channels·Height·Width.</summary>
    public int ImageSize => Channels * Height * Width;

    /// <summary>The class names, indexed by label.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    public int NumClasses => ClassNames.Count;

    /// <summary>All pixels, [Count, Channels, Height, Width] row-major.</summary>
    public ReadOnlySpan<byte> Pixels => _pixels;

    /// <summary>All labels.</summary>
    public ReadOnlySpan<int> Labels => _labels;

    /// <summary>The label of image <paramref name="index"/>.</summary>
    public int Label(int index) => _labels[CheckIndex(index)];

    /// <summary>The bytes of image <paramref name="index"/>, [Channels, Height, Width].</summary>
    public ReadOnlySpan<byte> ImageBytes(int index) => _pixels.AsSpan(CheckIndex(index) * ImageSize, ImageSize);

    /// <summary>Image <paramref name="index"/> as floats in [0, 1] (byte / 255), shape [Channels, Height, Width], for pictures.</summary>
    public Tensor Image(int index)
    {
        var bytes = ImageBytes(index);
        var t = new Tensor(Channels, Height, Width);
        var data = t.Elements;
        for (int i = 0; i < bytes.Length; i++) data[i] = bytes[i] / 255f;
        return t;
    }

    /// <summary>How many images each class has.</summary>
    public int[] ClassCounts()
    {
        var counts = new int[NumClasses];
        foreach (int y in _labels) counts[y]++;
        return counts;
    }

    /// <summary>A new dataset of the images at <paramref name="indices"/>, in that order (copied; repeats allowed).</summary>
    public ImageDataset Subset(ReadOnlySpan<int> indices, string? name = null)
    {
        int size = ImageSize;
        var pixels = new byte[(long)indices.Length * size];
        var labels = new int[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            int src = CheckIndex(indices[i]);
            _pixels.AsSpan(src * size, size).CopyTo(pixels.AsSpan(i * size, size));
            labels[i] = _labels[src];
        }
        return new ImageDataset(name ?? $"{Name} (subset of {indices.Length})", Source, pixels, labels, Channels, Height, Width, ClassNames);
    }

    /// <summary>The first <paramref name="count"/> images (all of them if there are fewer).</summary>
    public ImageDataset Take(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        int n = Math.Min(count, Count);
        var indices = new int[n];
        for (int i = 0; i < n; i++) indices[i] = i;
        return Subset(indices, $"{Name} (first {n})");
    }

    public override string ToString() => $"{Name}: {Count} images {Channels}x{Height}x{Width}, {NumClasses} classes ({Source})";

    private int CheckIndex(int index)
    {
        if ((uint)index >= (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"image index must be in [0, {Count})");
        return index;
    }
}
