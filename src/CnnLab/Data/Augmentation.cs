using System.Globalization;

namespace CnnLab.Data;

/// <summary>
/// Training-time augmentation done by the <see cref="DataLoader"/>'s worker, per image, in this order:
/// <list type="number">
/// <item>A crop of the original size: with <see cref="ResizedCropMinScale"/> &gt; 0 a random resized crop (an area share
/// s ~ U[min, 1] and an aspect ratio r with log r ~ U[log ¾, log 4⁄3]; w = round(√(s·A·r)), h = round(√(s·A/r)); ten
/// tries, then the whole image; resized back with <see cref="ImageResize"/>'s filter), else a random crop from the image
/// zero-padded by <see cref="Padding"/> pixels on each side (offsets uniform in [0, 2·Padding], row offset drawn
/// first; the padding is black, byte 0).</item>
/// <item>A horizontal flip with probability <see cref="FlipProbability"/>.</item>
/// <item>Brightness jitter x ← clamp(b·x) with b ~ U[1 − <see cref="Brightness"/>, 1 + <see cref="Brightness"/>], then
/// contrast jitter x ← clamp(c·x + (1 − c)·mean(grey(x))) with c ~ U[1 − <see cref="Contrast"/>, 1 + <see cref="Contrast"/>],
/// on pixels in [0, 1] before normalization.</item>
/// </list>
/// Draws come from a generator seeded by (seed, epoch, batch), so augmented batches are reproducible and independent
/// of prefetching and of the thread count.
/// </summary>
/// <remarks>PyTorch: <c>transforms.RandomCrop(size, padding=Padding)</c> or
/// <c>RandomResizedCrop(size, scale=(min, 1.0), antialias=True)</c>, <c>RandomHorizontalFlip(p)</c>,
/// <c>ColorJitter(brightness, contrast)</c> (which applies the two in a random order; here brightness comes first).
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

    /// <summary>Smallest area share of a random resized crop (0: none; torchvision's default is 0.08).</summary>
    public float ResizedCropMinScale { get; init => field = value is 0 or (> 0 and < 1) ? value
        : throw new ArgumentOutOfRangeException(nameof(ResizedCropMinScale), value, "resized-crop scale must be in (0, 1)"); }

    /// <summary>Brightness jitter strength B in [0, 1) (0: none).</summary>
    public float Brightness { get; init => field = value is >= 0 and < 1 ? value
        : throw new ArgumentOutOfRangeException(nameof(Brightness), value, "brightness jitter must be in [0, 1)"); }

    /// <summary>Contrast jitter strength in [0, 1) (0: none).</summary>
    public float Contrast { get; init => field = value is >= 0 and < 1 ? value
        : throw new ArgumentOutOfRangeException(nameof(Contrast), value, "contrast jitter must be in [0, 1)"); }

    /// <summary>True when the image must be resampled or rescaled in float (not only moved).</summary>
    internal bool NeedsFloat => ResizedCropMinScale > 0 || Brightness > 0 || Contrast > 0;

    /// <summary>What <c>--augment</c> alone means: a random crop with padding 2 and a horizontal flip.</summary>
    public static Augmentation Default { get; } = new(2);

    /// <summary>
    /// Parses a comma-separated list: <c>crop[:P]</c> (padding P, default 2), <c>flip[:p]</c> (default 0.5),
    /// <c>resized-crop[:min]</c> (default 0.08), <c>jitter[:s]</c> (brightness and contrast, default 0.2),
    /// <c>brightness:s</c>, <c>contrast:s</c>; "default" is crop,flip.
    /// </summary>
    public static Augmentation Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        int padding = 0;
        float flip = 0, minScale = 0, brightness = 0, contrast = 0;
        foreach (var item in spec.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = item.Split(':', 2);
            string name = parts[0].ToLowerInvariant();
            float Value(float fallback) => parts.Length == 1 ? fallback
                : float.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out float v) && float.IsFinite(v) ? v
                : throw new ArgumentException($"--augment: '{item}' needs a number after ':'");
            switch (name)
            {
                case "default": padding = 2; flip = 0.5f; break;
                case "crop": padding = (int)Value(2); break;
                case "flip": flip = Value(0.5f); break;
                case "resized-crop": minScale = Value(0.08f); break;
                case "jitter": brightness = contrast = Value(0.2f); break;
                case "brightness": brightness = Value(0.2f); break;
                case "contrast": contrast = Value(0.2f); break;
                default:
                    throw new ArgumentException($"--augment: unknown '{item}': expected crop[:P], flip[:p], resized-crop[:min], "
                        + "jitter[:s], brightness:s, contrast:s or default");
            }
        }
        if (padding is < 0 or > 64) throw new ArgumentException($"--augment: crop padding must be 0..64, got {padding}");
        try { return new Augmentation(padding, flip) { ResizedCropMinScale = minScale, Brightness = brightness, Contrast = contrast }; }
        catch (ArgumentOutOfRangeException e) { throw new ArgumentException($"--augment: {e.Message.Split(Environment.NewLine)[0]}"); }
    }
}
