using System.Globalization;

namespace CnnLab.Nn;

/// <summary>
/// A (height, width) pair for kernel sizes, strides, paddings, dilations and output sizes. Converts
/// implicitly from an <c>int</c> (both sides equal) and from an <c>(int, int)</c> tuple, so
/// <c>new Conv2d(1, 32, 3)</c> and <c>new Conv2d(1, 32, (3, 5))</c> both read like PyTorch. Remembers
/// whether it was given as one number, because PyTorch's pooling layers print it back as given.
/// </summary>
/// <remarks>PyTorch: the <c>int or tuple</c> arguments (<c>_size_2_t</c>, <c>torch.nn.modules.utils._pair</c>).</remarks>
public readonly struct Pair : IEquatable<Pair>
{
    public Pair(int h, int w)
    {
        H = h;
        W = w;
    }

    private Pair(int both, bool scalar)
    {
        H = both;
        W = both;
        IsScalar = scalar;
    }

    /// <summary>Height component (first, as in PyTorch's tuples).</summary>
    public int H { get; }

    /// <summary>Width component.</summary>
    public int W { get; }

    /// <summary>True when built from a single int.</summary>
    public bool IsScalar { get; }

    public static implicit operator Pair(int both) => new(both, scalar: true);

    public static implicit operator Pair((int H, int W) pair) => new(pair.H, pair.W);

    public bool Equals(Pair other) => H == other.H && W == other.W;

    public override bool Equals(object? obj) => obj is Pair p && Equals(p);

    public override int GetHashCode() => HashCode.Combine(H, W);

    public static bool operator ==(Pair a, Pair b) => a.Equals(b);

    public static bool operator !=(Pair a, Pair b) => !a.Equals(b);

    /// <summary>"(3, 5)", as Python prints a tuple.</summary>
    public string TupleString() => string.Create(CultureInfo.InvariantCulture, $"({H}, {W})");

    /// <summary>"3" when built from one int, else "(3, 5)": how PyTorch's pooling layers print their options.</summary>
    public override string ToString() => IsScalar ? H.ToString(CultureInfo.InvariantCulture) : TupleString();
}
