namespace CnnLab.Data;

/// <summary>
/// How <see cref="DataSource.Load(DatasetOptions, ICollection{string})"/> reads a data folder. Every value has a default that reads the data as
/// it is stored: the images' own channels and size (which must then agree), a stratified 20 % test split for a folder
/// without splits.
/// </summary>
public sealed record DatasetOptions
{
    /// <summary>1 (grey), 3 (RGB), or 0 to decide from the training images (3 if any is stored in colour).</summary>
    public int Channels { get; init; }

    /// <summary>Target height and width (0: the images' own, which must then all be the same).</summary>
    public int Height { get; init; }

    /// <inheritdoc cref="Height"/>
    public int Width { get; init; }

    /// <summary>Keep the aspect ratio and cut out the centre instead of stretching (<see cref="ImagePreprocessing"/>).</summary>
    public bool CenterCrop { get; init; }

    /// <summary>Share of a class-folder set without train/ and test/ kept for testing, per class (0 &lt; F &lt; 1).</summary>
    public double? ValSplit { get; init; }

    /// <summary>Seed of the validation split's draw.</summary>
    public long Seed { get; init; }

    /// <summary>Skip images that cannot be decoded (listed in the notes) instead of stopping at the first.</summary>
    public bool SkipBadImages { get; init; }

    /// <summary>Folder for decoded-image caches (null: decode every time).</summary>
    public string? CacheDirectory { get; init; }

    /// <summary>Called with (images decoded, images in all) while decoding, from any thread.</summary>
    public Action<int, int>? Progress { get; init; }

    /// <summary>Normalization to use instead of the one computed from the training images (or the data set's known one).</summary>
    public Normalize? Normalize { get; init; }

    /// <summary>The default: images as stored.</summary>
    public static DatasetOptions Default { get; } = new();

    /// <summary>Throws, naming the option, unless every value is in range.</summary>
    public void Validate()
    {
        if (Channels is not (0 or 1 or 3)) throw new ArgumentException($"--channels must be 1, 3 or auto, got {Channels}");
        if ((Height == 0) != (Width == 0) || Height is < 0 or > 4096 || Width is < 0 or > 4096)
            throw new ArgumentException($"--image-size must be 1..4096 on each side, got {Height}x{Width}");
        if (CenterCrop && Height == 0) throw new ArgumentException("--center-crop needs --image-size");
        if (ValSplit is double f && !(f > 0 && f < 1)) throw new ArgumentException($"--val-split must be between 0 and 1, got {f}");
    }
}
