using CnnLab.Data;
using CnnLab.Lab;
using CnnLab.Lab.Experiments;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

public class ZeroInitExperimentTests
{
    private static readonly ZeroInitExperiment.Budget Tiny = new(Steps: 30, BatchSize: 32, RecordEvery: 10, Seeds: 2, TrainImages: 600);

    [Fact]
    public void JacobiEigenvaluesMatchAKnownMatrix()
    {
        // [[2,1,0],[1,2,0],[0,0,5]] has eigenvalues 1, 3, 5.
        var a = new double[,] { { 2, 1, 0 }, { 1, 2, 0 }, { 0, 0, 5 } };
        var eig = ZeroInitExperiment.SymmetricEigenvalues(a).OrderBy(v => v).ToArray();
        Assert.Equal(1, eig[0], 12);
        Assert.Equal(3, eig[1], 12);
        Assert.Equal(5, eig[2], 12);
    }

    [Fact]
    public void NumericalRankCountsIndependentRows()
    {
        var g = new Generator(3);
        Assert.Equal(0, ZeroInitExperiment.NumericalRank(Tensor.Zeros(6, 10)));
        Assert.Equal(1, ZeroInitExperiment.NumericalRank(Tensor.Full(0.01f, 6, 10)));
        Assert.Equal(6, ZeroInitExperiment.NumericalRank(Tensor.Randn(g, 6, 10)));
        // Rows 2..5 are sums of rows 0 and 1: rank 2.
        var w = Tensor.Randn(g, 6, 10);
        var d = w.Data;
        for (int i = 2; i < 6; i++)
            for (int j = 0; j < 10; j++) d[i * 10 + j] = d[j] * i + d[10 + j];
        Assert.Equal(2, ZeroInitExperiment.NumericalRank(w));
    }

    [Fact]
    public void MaxRowDifferenceIsTheLargestColumnSpread()
    {
        var w = Tensor.FromArray([1f, 2f, 1.5f, 2f, 1f, 4f], 3, 2);
        Assert.Equal(2.0, ZeroInitExperiment.MaxRowDifference(w, null), 6);
        Assert.Equal(7.0, ZeroInitExperiment.MaxRowDifference(w, Tensor.FromArray([0f, 7f, 3f], 3)), 6);
        Assert.Equal(0.0, ZeroInitExperiment.MaxRowDifference(Tensor.Full(0.3f, 4, 5), Tensor.Zeros(4)));
    }

    [Fact]
    public void SymmetricInitsKeepUnitsIdenticalAndRandomOnesAreFullRank()
    {
        var data = FashionMnist.LoadEmbeddedSubset();
        var train = data.Train.Take(600);
        var test = data.Test.Take(200);
        var cfg = ZeroInitExperiment.Configs.ToDictionary(c => c.Key);

        var zeros = ZeroInitExperiment.RunOne(cfg["zeros-relu"], train, test, Tiny, 1);
        Assert.Equal(0.0, zeros.MaxAbsGrad.Max());
        Assert.All(zeros.Rank.SelectMany(r => r), r => Assert.Equal(0, r));
        Assert.All(zeros.RowDiff.SelectMany(r => r), d => Assert.Equal(0.0, d));

        var constant = ZeroInitExperiment.RunOne(cfg["constant-relu"], train, test, Tiny, 1);
        Assert.True(constant.MaxAbsGrad.Min() > 0, "constant weights must receive gradients");
        Assert.All(constant.Rank.SelectMany(r => r), r => Assert.Equal(1, r));
        Assert.All(constant.RowDiff.SelectMany(r => r), d => Assert.Equal(0.0, d));

        var random = ZeroInitExperiment.RunOne(cfg["kaiming-zero-bias"], train, test, Tiny, 1);
        Assert.All(random.Rank.SelectMany(r => r), r => Assert.Equal(64, r));
        Assert.True(random.RowDiff[0].Min() > 0.1);
        Assert.True(random.TestAccuracy > zeros.TestAccuracy + 0.2, $"random {random.TestAccuracy} vs zeros {zeros.TestAccuracy}");
        Assert.Equal(new[] { 0, 10, 20, 30 }, random.RecordSteps);
    }

    [Fact]
    public void VerdictQuotesTheMeasuredNumbers()
    {
        var data = FashionMnist.LoadEmbeddedSubset();
        var dir = Path.Combine(Path.GetTempPath(), "cnnlab-zero-init-" + Guid.NewGuid().ToString("N"));
        try
        {
            var ctx = new LabContext(dir, new TrainTestSplit(data.Train, data.Test.Take(300)), "test", LabMode.Quick, 0, TextWriter.Null);
            var r = new ZeroInitExperiment(Tiny).Run(ctx);
            Assert.Equal(true, r.Metrics["symmetric_units_identical"]);
            Assert.Equal(64, r.Metrics["random_min_rank"]);
            double zb = (double)r.Metrics["zero_bias_accuracy"]!;
            Assert.Contains(zb.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture), r.Verdict);
            Assert.Contains("30 SGD steps", r.Verdict);
            Assert.Equal(2, r.Figures.Count);
            Assert.All(r.Figures, f => Assert.True(File.Exists(f.Png)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
