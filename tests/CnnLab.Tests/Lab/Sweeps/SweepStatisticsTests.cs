using CnnLab.Lab.Sweeps;
using Xunit;

namespace CnnLab.Tests;

public class SweepStatisticsTests
{
    [Theory]
    [InlineData(1, 12.706205)]
    [InlineData(2, 4.302653)]
    [InlineData(4, 2.776445)]
    [InlineData(10, 2.228139)]
    [InlineData(1000, 1.962339)]
    public void TQuantiles_MatchTheTables(double nu, double expected) =>
        Assert.Equal(expected, StudentT.TwoSidedQuantile(0.95, nu), 1e-5);

    [Fact]
    public void TwoSidedP_IsTheTailOfTheQuantile_AndOneAtZero()
    {
        Assert.Equal(0.05, StudentT.TwoSidedP(4.302653, 2), 6);
        Assert.Equal(1.0, StudentT.TwoSidedP(0, 5), 12);
        Assert.Equal(0.5, StudentT.TwoSidedP(1, 1), 9);   // Cauchy: P(|T| ≥ 1) = 1/2
    }

    [Fact]
    public void MeanAndInterval_OverSeeds()
    {
        var s = SeedStatistics.Of([0.80, 0.82, 0.84, double.NaN]);
        Assert.Equal(3, s.N);
        Assert.Equal(1, s.Diverged);
        Assert.Equal(0.82, s.Mean, 12);
        Assert.Equal(0.02, s.Std, 12);
        Assert.Equal(4.302653 * 0.02 / Math.Sqrt(3), s.HalfWidth95, 6);
        Assert.True(double.IsNaN(SeedStatistics.Of([0.5]).HalfWidth95));
    }

    [Fact]
    public void Welch_MatchesAHandComputedCase()
    {
        // a: mean 2, var 1, n 3; b: mean 5, var 4, n 3 → t = −3/√(1/3 + 4/3) = −2.3238, df = (5/3)² / ((1/9 + 16/9)/2) = 2.9412
        var (t, df, p) = SeedStatistics.Welch(SeedStatistics.Of([1.0, 2, 3]), SeedStatistics.Of([3.0, 5, 7]));
        Assert.Equal(-3 / Math.Sqrt(5.0 / 3), t, 9);
        Assert.Equal(25.0 / 9 / (17.0 / 18), df, 9);
        Assert.InRange(p, 0.10, 0.11);                     // scipy.stats.ttest_ind(equal_var=False): p = 0.1046
        Assert.Equal(0, SeedStatistics.Welch(SeedStatistics.Of([1.0, 1]), SeedStatistics.Of([2.0, 2])).P);
    }

    [Fact]
    public void Statement_SaysWhichDifferencesExceedTheSeedNoise()
    {
        var spec = SweepFile.Parse(
            """{ "budget": { "steps": 2, "checkpoints": 1 }, "grid": { "lr": [0.1, 0.01, 0.001], "seed": [0, 1, 2] } }""", "g");
        double[] acc = [0.80, 0.81, 0.79, 0.70, 0.71, 0.69, 0.78, 0.82, 0.80];
        var results = spec.Cells.Select((c, i) => new SweepCellResult(c, [2], [0.9], [acc[i]], [1.0, 0.5], 1)).ToList();
        var s = SweepSummary.Of(spec, results);
        Assert.Equal("lr=1e-1", s.Best.Label);
        Assert.Equal(["lr=1e-1", "lr=1e-3", "lr=1e-2"], s.Ranked.Select(g => g.Label));
        Assert.False(s.Comparisons[0].ExceedsNoise);       // 0.80 vs 0.80: within the noise
        Assert.True(s.Comparisons[1].ExceedsNoise);        // 0.80 vs 0.70 with spread 0.01: beyond it
        Assert.Matches(@"Worse than the best beyond the seed noise: lr=1e-2 \(-10\.00 points, p (= 0\.\d+|< 1e-4)\)", s.Statement);
        Assert.Contains("Within the seed noise of the best (not distinguishable from it on this budget): lr=1e-3", s.Statement);
        Assert.Contains("Welch's two-sided t-test", s.Statement);
        var one = SweepSummary.Of(spec, results.Select((r, i) => r with { TestCurve = [i % 3 == 0 ? acc[i] : double.NaN] }).ToList());
        Assert.Contains("fewer than two finished seeds", one.Statement);
    }
}
