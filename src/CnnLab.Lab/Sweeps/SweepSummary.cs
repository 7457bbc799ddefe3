using System.Globalization;
using static System.FormattableString;

namespace CnnLab.Lab.Sweeps;

/// <summary>One configuration of a sweep (its cells differ only in the seed), with its test and train accuracy over the seeds.</summary>
public sealed record SweepGroup(string Label, IReadOnlyList<int> Cells, SeedStatistics Test, SeedStatistics Train, double Seconds);

/// <summary>A configuration against the best one: the difference of mean test accuracy and Welch's test of it.</summary>
public sealed record SweepComparison(SweepGroup Group, double Difference, double P, bool ExceedsNoise);

/// <summary>
/// The groups of a finished sweep ranked by mean test accuracy, and which differences from the best exceed the seed noise.
/// The rule, stated in the report: a difference exceeds the seed noise when Welch's two-sided t-test over the seeds gives
/// p &lt; <see cref="Alpha"/>; with fewer than two seeds per configuration nothing can be said of the noise, and the
/// statement says so.
/// </summary>
public sealed record SweepSummary(IReadOnlyList<SweepGroup> Ranked, IReadOnlyList<SweepComparison> Comparisons, string Statement)
{
    /// <summary>The test's level.</summary>
    public const double Alpha = 0.05;

    public SweepGroup Best => Ranked[0];

    public static SweepSummary Of(SweepSpec spec, IReadOnlyList<SweepCellResult> results)
    {
        var groups = spec.Groups().Select(cells => new SweepGroup(
            spec.Cells[cells[0]].Describe(spec.Factors), cells,
            SeedStatistics.Of(cells.Select(i => results[i].TestAccuracy)), SeedStatistics.Of(cells.Select(i => results[i].TrainAccuracy)),
            cells.Sum(i => results[i].Seconds))).ToList();
        // Diverged configurations (no finite seed) rank last; ties keep the grid's order.
        var ranked = groups.OrderByDescending(g => g.Test.N > 0 ? g.Test.Mean : double.NegativeInfinity).ToList();
        var best = ranked[0];
        var comparisons = ranked.Skip(1).Select(g =>
        {
            double p = SeedStatistics.Welch(best.Test, g.Test).P;
            return new SweepComparison(g, g.Test.Mean - best.Test.Mean, p, p < Alpha);
        }).ToList();
        return new SweepSummary(ranked, comparisons, StatementOf(ranked, comparisons));
    }

    private static string StatementOf(IReadOnlyList<SweepGroup> ranked, IReadOnlyList<SweepComparison> comparisons)
    {
        var best = ranked[0];
        string Acc(SeedStatistics s) => s.N == 0 ? "diverged"
            : double.IsNaN(s.HalfWidth95) ? Invariant($"{s.Mean * 100:0.00}%") : Invariant($"{s.Mean * 100:0.00} ± {s.HalfWidth95 * 100:0.00}%");
        var text = Invariant($"Best: {best.Label}, test accuracy {Acc(best.Test)} (mean ± 95% interval over {best.Test.N} seed");
        text += best.Test.N == 1 ? ")." : "s).";
        if (comparisons.Count == 0) return text + " It is the only configuration.";
        if (ranked.Any(g => g.Test.N < 2))
            return text + " Some configurations have fewer than two finished seeds, so the seed noise cannot be measured for them: "
                + "run more seeds (add \"seed\": [0, 1, 2] to the grid) before reading differences as real.";
        var beyond = comparisons.Where(c => c.ExceedsNoise).ToList();
        var within = comparisons.Where(c => !c.ExceedsNoise).ToList();
        string List(IEnumerable<SweepComparison> cs) => string.Join("; ", cs.Select(c =>
            Invariant($"{c.Group.Label} ({c.Difference * 100:+0.00;-0.00} points, p {P(c.P)})")));
        text += Invariant($" Rule: a difference exceeds the seed noise when Welch's two-sided t-test over the seeds gives p < {Alpha}.");
        text += beyond.Count == 0
            ? " No configuration is worse than the best by more than the seed noise."
            : $" Worse than the best beyond the seed noise: {List(beyond)}.";
        text += within.Count == 0
            ? " Every other configuration is worse beyond the noise, so the best is the best on this budget."
            : $" Within the seed noise of the best (not distinguishable from it on this budget): {List(within)}.";
        return text;
    }

    private static string P(double p) => double.IsNaN(p) ? "n/a" : p < 1e-4 ? "< 1e-4" : "= " + p.ToString("0.####", CultureInfo.InvariantCulture);
}
