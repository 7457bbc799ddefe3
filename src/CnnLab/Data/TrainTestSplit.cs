namespace CnnLab.Data;

/// <summary>
/// A dataset's training and test parts (same image size and classes), with how their images were prepared and the
/// normalization that goes with them. Both travel with a model trained on them (its checkpoint's config), so that
/// evaluation and prediction prepare images the same way.
/// </summary>
/// <remarks>PyTorch: the pair <c>FashionMNIST(root, train=True)</c> / <c>FashionMNIST(root, train=False)</c>, with
/// their <c>transform</c>.</remarks>
public sealed record TrainTestSplit(ImageDataset Train, ImageDataset Test)
{
    /// <summary>How files became these images (null: they were stored at this size, e.g. IDX or CIFAR).</summary>
    public ImagePreprocessing? Preprocessing { get; init; }

    private Normalize? _normalization;

    /// <summary>
    /// The normalization to train with: the one given, else the data set's published one, or the training images' own
    /// statistics (computed on first use, so a split that is given one never computes them).
    /// </summary>
    public Normalize Normalization
    {
        get => _normalization ??= Normalize.FromKnownOrData(Train);
        init => _normalization = value;
    }

    /// <summary>What kind of files the data came from: "idx", "cifar-10", "cifar-100", "image-folder" or "embedded".</summary>
    public string Format { get; init; } = "idx";
}
