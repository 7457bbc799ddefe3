namespace CnnLab.Viz;

/// <summary>Argument checks shared by the figures; every failure is an ArgumentException naming the value.</summary>
internal static class Check
{
    public static void Text(string? value, string name)
    {
        if (value is null) throw new ArgumentException($"{name} must not be null.", name);
    }

    /// <summary>
    /// Checks a list of (label, X, Y) series: non-empty, equal lengths, at least one finite point each.
    /// Returns the finite points of each series (non-finite pairs dropped, e.g. a diverged run's tail).
    /// </summary>
    public static List<(string Label, double[] X, double[] Y)> Series(
        IReadOnlyList<(string Label, double[] X, double[] Y)>? series, string name, bool positiveY = false)
    {
        if (series is null || series.Count == 0)
            throw new ArgumentException($"{name} must contain at least one series; got none.", name);
        var result = new List<(string, double[], double[])>(series.Count);
        for (int i = 0; i < series.Count; i++)
        {
            var (label, x, y) = series[i];
            string what = $"{name}[{i}] '{label}'";
            if (x is null || y is null) throw new ArgumentException($"{what}: X and Y must not be null.", name);
            if (x.Length != y.Length)
                throw new ArgumentException($"{what}: X has {x.Length} values but Y has {y.Length}; they must have the same length.", name);
            if (x.Length == 0) throw new ArgumentException($"{what} is empty: it needs at least one (x, y) point.", name);
            var xs = new List<double>(x.Length);
            var ys = new List<double>(y.Length);
            for (int j = 0; j < x.Length; j++)
                if (double.IsFinite(x[j]) && double.IsFinite(y[j]) && (!positiveY || y[j] > 0)) { xs.Add(x[j]); ys.Add(y[j]); }
            if (xs.Count == 0)
                throw new ArgumentException(positiveY
                    ? $"{what} has no finite point with Y > 0, so it cannot be drawn on a log scale."
                    : $"{what} has no finite point: all {x.Length} (x, y) pairs contain NaN or infinity.", name);
            result.Add((label ?? "", xs.ToArray(), ys.ToArray()));
        }
        return result;
    }

    public static void Labels(string[]? labels, int expected, string name, string of)
    {
        if (labels is null) throw new ArgumentException($"{name} must not be null.", name);
        if (labels.Length != expected)
            throw new ArgumentException($"{name} has {labels.Length} labels but {of} has {expected}; they must match.", name);
    }
}
