using CnnLab.Data;
using CnnLab.Lab;
using CnnLab.Lab.Experiments;
using Xunit;

namespace CnnLab.Tests;

public class BatchNormInitExperimentTests
{
    [Theory]
    [InlineData(10.0)]
    [InlineData(1000.0)]
    public void BatchNormIsScaleInvariantAndTheGradientScalesAsOneOverA(double a)
    {
        var (outDiff, gradDiff) = BatchNormInitExperiment.ScaleInvariance(a, 7);
        Assert.True(outDiff < 1e-4, $"output diff {outDiff}");
        Assert.True(gradDiff < 1e-3, $"grad diff {gradDiff}");
    }

    [Fact]
    public void BatchNormEpsilonBreaksTheInvarianceForTinyScales()
    {
        // a = 0.01 shrinks the conv output's variance (≈ 36 here) by 1e-4, to about eps·360: a visible difference.
        Assert.True(BatchNormInitExperiment.ScaleInvariance(0.01, 7).OutputDiff > 1e-4);
    }

    [Fact]
    public void BatchNormEqualizesTheStdAtInitAndTheVerdictQuotesTheSpread()
    {
        var data = FashionMnist.LoadEmbeddedSubset();
        var dir = Path.Combine(Path.GetTempPath(), "cnnlab-bn-init-" + Guid.NewGuid().ToString("N"));
        try
        {
            var ctx = new LabContext(dir, data, "test", LabMode.Quick, 0, TextWriter.Null);
            var r = new BatchNormInitExperiment(new(Depth: 8, Channels: 4, Steps: 4, BatchSize: 8, Lr: 0.01, StatsBatch: 16)).Run(ctx);
            double plain = (double)r.Metrics["last_layer_std_range_without_bn"]!, bn = (double)r.Metrics["last_layer_std_range_with_bn"]!;
            Assert.True(plain > 1e3, $"without BN the std range is {plain}");
            Assert.True(bn < 3, $"with BN the std range is {bn}");
            Assert.Contains(((double)r.Metrics["final_loss_spread_with_bn"]!).ToString("0.000", System.Globalization.CultureInfo.InvariantCulture),
                r.Verdict);
            var trainedBn = (string[])r.Metrics["inits_trained_with_bn"]!;
            Assert.Contains($"{trainedBn.Length} of 4 with BN", r.Verdict);
            Assert.Equal(3, r.Figures.Count);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
