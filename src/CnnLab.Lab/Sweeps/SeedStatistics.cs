namespace CnnLab.Lab.Sweeps;

/// <summary>
/// One configuration's metric over its seeds: the mean and its 95% confidence interval, mean ± t₀.₉₇₅,ₙ₋₁ · s/√n
/// (s the sample standard deviation, Student's t because a handful of seeds is far from the normal limit).
/// Non-finite values (diverged seeds) are left out and counted.
/// </summary>
/// <param name="Values">The finite values, one per seed.</param>
/// <param name="Diverged">Seeds whose value was not finite.</param>
public sealed record SeedStatistics(double[] Values, int Diverged)
{
    public static SeedStatistics Of(IEnumerable<double> values)
    {
        var all = values.ToArray();
        return new SeedStatistics(all.Where(double.IsFinite).ToArray(), all.Count(v => !double.IsFinite(v)));
    }

    public int N => Values.Length;

    public double Mean => N == 0 ? double.NaN : Values.Average();

    /// <summary>Sample standard deviation (n − 1); NaN below two values.</summary>
    public double Std => N < 2 ? double.NaN : Math.Sqrt(Values.Sum(v => (v - Mean) * (v - Mean)) / (N - 1));

    /// <summary>Half-width of the 95% interval; NaN below two values (one seed says nothing of the noise).</summary>
    public double HalfWidth95 => N < 2 ? double.NaN : StudentT.TwoSidedQuantile(0.95, N - 1) * Std / Math.Sqrt(N);

    /// <summary>
    /// Welch's t-test of <paramref name="a"/> against <paramref name="b"/>: t = (ā − b̄)/√(s²ₐ/nₐ + s²_b/n_b) with the
    /// Welch–Satterthwaite degrees of freedom (Welch 1947); the two-sided p-value. NaN when either has fewer than two values.
    /// Two configurations with no spread at all and different means give p = 0 (a certain difference).
    /// </summary>
    public static (double T, double Df, double P) Welch(SeedStatistics a, SeedStatistics b)
    {
        if (a.N < 2 || b.N < 2) return (double.NaN, double.NaN, double.NaN);
        double va = a.Std * a.Std / a.N, vb = b.Std * b.Std / b.N, se2 = va + vb;
        double diff = a.Mean - b.Mean;
        if (se2 == 0) return diff == 0 ? (0, double.NaN, 1) : (double.PositiveInfinity * Math.Sign(diff), double.NaN, 0);
        double t = diff / Math.Sqrt(se2);
        double df = se2 * se2 / (va * va / (a.N - 1) + vb * vb / (b.N - 1));
        return (t, df, StudentT.TwoSidedP(t, df));
    }
}
