namespace CnnLab.Data;

/// <summary>
/// Training-time augmentation done by the <see cref="DataLoader"/>, per image, in this order:
/// a random crop of the original size from the image zero-padded by <see cref="Padding"/> pixels
/// on each side (offsets uniform in [0, 2·Padding], drawn row offset first; the padding is black,
/// i.e. the normalized value of byte 0), then a horizontal flip with probability
/// <see cref="FlipProbability"/>. Draws come from a generator seeded by (seed, epoch, batch), so
/// augmented batches are reproducible and independent of prefetching.
/// </summary>
/// <remarks>PyTorch: <c>transforms.RandomCrop(size, padding=Padding)</c> followed by
/// <c>transforms.RandomHorizontalFlip(p=FlipProbability)</c> (default p = 0.5, as here).
/// The random draws differ from PyTorch's, the distributions are the same.</remarks>
public sealed record Augmentation
{
    public Augmentation(int padding, float flipProbability = 0.5f)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        if (!(flipProbability >= 0 && flipProbability <= 1))
            throw new ArgumentOutOfRangeException(nameof(flipProbability), flipProbability, "flip probability must be in [0, 1]");
        Padding = padding;
        FlipProbability = flipProbability;
    }

    /// <summary>Pixels of zero padding on each side before the random crop (0: no crop).</summary>
    public int Padding { get; }

    /// <summary>Probability of a horizontal flip.</summary>
    public float FlipProbability { get; }
}
