namespace CnnLab.Data;

/// <summary>
/// Pixel normalization applied by the <see cref="DataLoader"/>: x = (byte / 255 − Mean) / Std,
/// computed in float32 in that order (as <c>ToTensor()</c> then <c>Normalize</c> do). One mean and
/// std for all channels.
/// </summary>
/// <remarks>PyTorch: <c>transforms.Compose([transforms.ToTensor(), transforms.Normalize((mean,), (std,))])</c>.</remarks>
public readonly record struct Normalize
{
    public Normalize(float mean, float std)
    {
        if (!float.IsFinite(mean)) throw new ArgumentOutOfRangeException(nameof(mean), mean, "mean must be finite");
        if (!(std > 0) || !float.IsFinite(std)) throw new ArgumentOutOfRangeException(nameof(std), std, "std must be positive and finite");
        Mean = mean;
        Std = std;
    }

    public float Mean { get; }

    public float Std { get; }

    /// <summary>Fashion-MNIST's statistics (0.2860, 0.3530): the <see cref="DataLoader"/>'s default.</summary>
    public static Normalize FashionMnist => new(Data.FashionMnist.Mean, Data.FashionMnist.Std);

    /// <summary>MNIST's statistics (0.1307, 0.3081).</summary>
    public static Normalize Mnist => new(Data.Mnist.Mean, Data.Mnist.Std);

    /// <summary>No normalization: pixels in [0, 1] (mean 0, std 1).</summary>
    public static Normalize None => new(0f, 1f);

    /// <summary>The normalized value of pixel byte <paramref name="value"/>.</summary>
    public float Apply(byte value) => (value / 255f - Mean) / Std;
}
