using System.Globalization;
using CnnLab.Tensors;

namespace CnnLab.Data;

/// <summary>
/// Pixel normalization applied by the <see cref="DataLoader"/>: x = (byte / 255 − Mean[c]) / Std[c] for channel c,
/// computed in float32 in that order (as <c>ToTensor()</c> then <c>Normalize</c> do). One mean and std apply to every
/// channel; otherwise there is one per channel.
/// </summary>
/// <remarks>PyTorch: <c>transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])</c>.</remarks>
public sealed class Normalize : IEquatable<Normalize>
{
    private readonly float[] _mean;
    private readonly float[] _std;

    /// <summary>One mean and std for all channels.</summary>
    public Normalize(float mean, float std)
        : this([mean], [std])
    {
    }

    /// <summary>A mean and std per channel (or one value each for all channels).</summary>
    public Normalize(IReadOnlyList<float> mean, IReadOnlyList<float> std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Count == 0 || mean.Count != std.Count)
            throw new ArgumentException($"normalization needs as many means as stds (one or one per channel), got {mean.Count} and {std.Count}");
        for (int c = 0; c < mean.Count; c++)
        {
            if (!float.IsFinite(mean[c])) throw new ArgumentOutOfRangeException(nameof(mean), mean[c], "mean must be finite");
            if (!(std[c] > 0) || !float.IsFinite(std[c]))
                throw new ArgumentOutOfRangeException(nameof(std), std[c], "std must be positive and finite");
        }
        _mean = [.. mean];
        _std = [.. std];
    }

    /// <summary>The mean of channel 0 (of every channel when <see cref="Channels"/> is 1).</summary>
    public float Mean => _mean[0];

    /// <summary>The std of channel 0 (of every channel when <see cref="Channels"/> is 1).</summary>
    public float Std => _std[0];

    /// <summary>The means, one per channel (or one for all).</summary>
    public IReadOnlyList<float> Means => _mean;

    /// <summary>The stds, one per channel (or one for all).</summary>
    public IReadOnlyList<float> Stds => _std;

    /// <summary>1 when one mean and std serve every channel, else the number of channels.</summary>
    public int Channels => _mean.Length;

    /// <summary>Fashion-MNIST's statistics (0.2860, 0.3530).</summary>
    public static Normalize FashionMnist { get; } = new(Data.FashionMnist.Mean, Data.FashionMnist.Std);

    /// <summary>MNIST's statistics (0.1307, 0.3081).</summary>
    public static Normalize Mnist { get; } = new(Data.Mnist.Mean, Data.Mnist.Std);

    /// <summary>No normalization: pixels in [0, 1] (mean 0, std 1).</summary>
    public static Normalize None { get; } = new(0f, 1f);

    /// <summary>The normalized value of pixel byte <paramref name="value"/> in channel <paramref name="channel"/>.</summary>
    public float Apply(byte value, int channel = 0)
    {
        int c = _mean.Length == 1 ? 0 : channel;
        return (value / 255f - _mean[c]) / _std[c];
    }

    /// <summary>One [C, H, W] byte image (<paramref name="shape"/>) as a normalized [1, C, H, W] tensor.</summary>
    public Tensor ToTensor(ReadOnlySpan<byte> image, IReadOnlyList<int> shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Count != 3 || (long)shape[0] * shape[1] * shape[2] != image.Length)
            throw new ArgumentException($"{image.Length} bytes are not one image of shape [{string.Join(", ", shape)}]");
        CheckChannels(shape[0]);
        var x = new Tensor(1, shape[0], shape[1], shape[2]);
        var data = x.Elements;
        int plane = shape[1] * shape[2];
        for (int k = 0; k < image.Length; k++) data[k] = Apply(image[k], k / plane);
        return x;
    }

    /// <summary>Throws unless this normalization fits images of <paramref name="channels"/> channels.</summary>
    public void CheckChannels(int channels)
    {
        if (Channels != 1 && Channels != channels)
            throw new ArgumentException($"normalization has {Channels} means and stds but the images have {channels} channels");
    }

    /// <summary>
    /// The per-channel mean and (population) std of <paramref name="data"/>'s pixels scaled to [0, 1], as one computes
    /// them for <c>transforms.Normalize</c>: sums in 64-bit integers, so the result does not depend on the order.
    /// </summary>
    public static Normalize FromData(ImageDataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Count == 0) throw new ArgumentException($"{data.Name} has no images to compute a normalization from");
        int channels = data.Channels, plane = data.Height * data.Width;
        var sum = new long[channels];
        var sumSquares = new long[channels];
        var pixels = data.Pixels;
        for (int i = 0; i < data.Count; i++)
            for (int c = 0; c < channels; c++)
            {
                var p = pixels.Slice((i * channels + c) * plane, plane);
                long s = 0, q = 0;
                foreach (byte v in p) { s += v; q += v * v; }
                sum[c] += s;
                sumSquares[c] += q;
            }
        double n = (double)data.Count * plane;
        var mean = new float[channels];
        var std = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            double m = sum[c] / n, variance = Math.Max(sumSquares[c] / n - m * m, 0);
            mean[c] = (float)(m / 255);
            // A constant channel (variance 0) keeps std 1 rather than dividing by zero.
            std[c] = variance > 0 ? (float)(Math.Sqrt(variance) / 255) : 1f;
        }
        return new Normalize(mean, std);
    }

    /// <summary>
    /// Fashion-MNIST's or MNIST's published statistics for those data sets (so results match the papers and PyTorch
    /// recipes), else <see cref="FromData"/> of <paramref name="train"/>.
    /// </summary>
    public static Normalize FromKnownOrData(ImageDataset train)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (train.Channels == 1 && ReferenceEquals(train.ClassNames, Data.FashionMnist.ClassNames)) return FashionMnist;
        if (train.Channels == 1 && ReferenceEquals(train.ClassNames, Data.Mnist.ClassNames)) return Mnist;
        return FromData(train);
    }

    public bool Equals(Normalize? other) =>
        other is not null && _mean.AsSpan().SequenceEqual(other._mean) && _std.AsSpan().SequenceEqual(other._std);

    public override bool Equals(object? obj) => Equals(obj as Normalize);

    public override int GetHashCode() => HashCode.Combine(_mean[0], _std[0], _mean.Length);

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"mean ({string.Join(", ", _mean.Select(v => v.ToString("0.0000", CultureInfo.InvariantCulture)))}), "
        + $"std ({string.Join(", ", _std.Select(v => v.ToString("0.0000", CultureInfo.InvariantCulture)))})");
}
