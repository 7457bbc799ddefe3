namespace CnnLab.Training.TensorBoard;

/// <summary>
/// The statistics and buckets of TensorBoard's HistogramProto for a set of values: min, max, count, sum, sum of squares,
/// and counts in equal-width buckets over [min, max], bucket i holding the values in (limit[i-1], limit[i]] (the first
/// also holds min). TensorBoard re-buckets what it reads into its own 30 bins for display.
/// </summary>
/// <remarks>
/// PyTorch: the statistics of <c>SummaryWriter.add_histogram(tag, values, bins=30)</c>; non-finite values are left out
/// (a training step that makes one stops the Trainer anyway).
/// </remarks>
public sealed record HistogramSummary(double Min, double Max, double Count, double Sum, double SumSquares,
    IReadOnlyList<double> BucketLimits, IReadOnlyList<double> BucketCounts)
{
    /// <summary>The default number of buckets, TensorBoard's own.</summary>
    public const int DefaultBuckets = 30;

    /// <summary>The histogram of the finite values in <paramref name="values"/> (all zero for none).</summary>
    public static HistogramSummary Of(ReadOnlySpan<float> values, int buckets = DefaultBuckets)
    {
        if (buckets < 1) throw new ArgumentOutOfRangeException(nameof(buckets), buckets, "a histogram needs at least one bucket");
        double min = double.PositiveInfinity, max = double.NegativeInfinity, sum = 0, sumSquares = 0;
        long count = 0;
        foreach (float f in values)
        {
            if (!float.IsFinite(f)) continue;
            min = Math.Min(min, f);
            max = Math.Max(max, f);
            sum += f;
            sumSquares += (double)f * f;
            count++;
        }
        if (count == 0) return new HistogramSummary(0, 0, 0, 0, 0, [0.0], [0.0]);
        // One bucket when every value is equal: a width of zero would put them all past the last limit.
        int n = max > min ? buckets : 1;
        double width = (max - min) / n;
        var limits = new double[n];
        for (int i = 0; i < n; i++) limits[i] = i == n - 1 ? max : min + (i + 1) * width;
        var counts = new double[n];
        foreach (float f in values)
        {
            if (!float.IsFinite(f)) continue;
            int i = width > 0 ? (int)Math.Ceiling((f - min) / width) - 1 : 0;
            counts[Math.Clamp(i, 0, n - 1)]++;
        }
        return new HistogramSummary(min, max, count, sum, sumSquares, limits, counts);
    }
}
