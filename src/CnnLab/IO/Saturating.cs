namespace CnnLab.IO;

/// <summary>
/// Size arithmetic that cannot overflow: a result past <see cref="long.MaxValue"/> stays there, so a budget check on it
/// fails with a message instead of wrapping to a small or negative size.
/// </summary>
public static class Saturating
{
    /// <summary>a + b for non-negative sizes.</summary>
    public static long Add(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;

    /// <summary>a · b for non-negative sizes.</summary>
    public static long Multiply(long a, long b) => a != 0 && b > long.MaxValue / a ? long.MaxValue : a * b;

    /// <summary>The product of non-negative sizes.</summary>
    public static long Product(params ReadOnlySpan<long> factors)
    {
        long p = 1;
        foreach (long f in factors) p = Multiply(p, Math.Max(0, f));
        return p;
    }

    /// <summary>The product of a shape's dimensions.</summary>
    public static long Product(int[] shape)
    {
        long p = 1;
        foreach (int d in shape) p = Multiply(p, Math.Max(0, d));
        return p;
    }
}
