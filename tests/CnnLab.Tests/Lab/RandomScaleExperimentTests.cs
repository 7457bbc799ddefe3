using System.Globalization;
using CnnLab.Data;
using CnnLab.Lab;
using CnnLab.Lab.Experiments;
using Xunit;

namespace CnnLab.Tests;

public class RandomScaleExperimentTests
{
    // depth 6, width 64: ReLU's per-layer factor is σ·√32, so σ = 1e-3 vanishes and σ = 1 explodes.
    private static readonly RandomScaleExperiment.Budget Tiny = new(Depth: 6, Width: 64, Steps: 5, BatchSize: 16, DoctorBatch: 64);

    [Fact]
    public void CrossingInterpolatesInLogLog()
    {
        // y = x/0.1 crosses 1 at x = 0.1 exactly in log-log.
        double[] x = [0.01, 0.03, 0.3, 1], y = x.Select(v => v / 0.1).ToArray();
        Assert.Equal(0.1, RandomScaleExperiment.Crossing(x, y), 9);
        Assert.True(double.IsNaN(RandomScaleExperiment.Crossing([1, 2], [0.1, 0.2])));
    }

    [Fact]
    public void SmallSigmaVanishesAndLargeSigmaExplodesForRelu()
    {
        var data = FashionMnist.LoadEmbeddedSubset();
        var (x, y) = LabTraining.FirstBatch(data.Train, 64);
        var small = RandomScaleExperiment.Measure("relu", 1e-3, Tiny, data, 0, x, y);
        var large = RandomScaleExperiment.Measure("relu", 1, Tiny, data, 0, x, y);
        var right = RandomScaleExperiment.Measure("relu", Math.Sqrt(2.0 / 64), Tiny, data, 0, x, y);
        Assert.Equal("vanishes", small.Regime);
        Assert.True(small.ActRatio < 1e-8, $"ratio {small.ActRatio}");
        Assert.Equal("explodes", large.Regime);
        Assert.Equal("works", right.Regime);
        Assert.InRange(right.ActRatio, 0.1, 10);
        // ReLU: the std falls by σ·√(n/2) per layer: 1e-3·√32 ≈ 5.7e-3 (measured over the 5 steps between hidden layers 1 and 6).
        double factor = Math.Pow(small.ActivationStd[5] / small.ActivationStd[0], 1.0 / 5);
        Assert.InRange(factor, 0.7 * 1e-3 * Math.Sqrt(32), 1.3 * 1e-3 * Math.Sqrt(32));
    }

    [Fact]
    public void VerdictStatesTheRangesItMeasured()
    {
        var data = FashionMnist.LoadEmbeddedSubset();
        var dir = Path.Combine(Path.GetTempPath(), "cnnlab-random-scale-" + Guid.NewGuid().ToString("N"));
        try
        {
            var ctx = new LabContext(dir, data, "test", LabMode.Quick, 0, TextWriter.Null);
            var r = new RandomScaleExperiment(Tiny).Run(ctx);
            var vanish = (double[])r.Metrics["relu_vanishing_sigmas"]!;
            Assert.Contains(1e-3, vanish);
            Assert.Contains(
                "relu: vanishes for σ ∈ {" + string.Join(", ", vanish.Select(v => v.ToString("G3", CultureInfo.InvariantCulture))) + "}",
                r.Verdict);
            Assert.Contains("√(2/64) = 0.177", r.Verdict);
            Assert.Equal(5, r.Figures.Count);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
