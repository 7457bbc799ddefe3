using CnnLab.Lab;
using CnnLab.Lab.Experiments;
using CnnLab.Nn;
using CnnLab.Nn.Models;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

public class FeatureMapsExperimentTests
{
    [Fact]
    public void TinyRunMeasuresEveryStageAndTheVerdictQuotesTheNumbers()
    {
        var ctx = LabTestContext.Create("feature-maps");
        var r = new FeatureMapsExperiment(steps: 2, images: 1, statsBatch: 16, testImages: 50).Run(ctx);
        var sparsity = (double[])r.Metrics["sparsity"]!;
        var shapes = (string[])r.Metrics["stage_shapes"]!;
        Assert.Equal(["32×28×28", "32×28×28", "32×14×14", "64×14×14", "64×14×14", "64×7×7"], shapes);
        Assert.True(sparsity[0] < 0.01, "a conv output has (almost) no exact zeros");
        Assert.True(sparsity[1] > 0.2 && sparsity[1] < 0.9, $"ReLU zeros a good part: {sparsity[1]}");
        Assert.Equal([3, 3, 4, 8, 8, 10], (int[])r.Metrics["receptive_field"]!);
        Assert.True((double)r.Metrics["arithmetic_abs_error"]! < 1e-4);
        Assert.Contains("28×28 → 14×14 → 7×7", r.Verdict);
        Assert.Contains((sparsity[1] * 100).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) + "%", r.Verdict);
        Assert.All(r.Figures, f => Assert.True(File.Exists(f.Png), f.Png));
        Assert.Equal(2, r.Tables.Count);
    }

    [Fact]
    public void CaptureRestoresTrainingModeAndArithmeticMatchesTheLayer()
    {
        var model = ModelZoo.Create("lenet5", new Generator(3));
        var x = Tensor.Randn(new Generator(4), 2, 1, 28, 28);
        var stages = FeatureMapRenderer.Capture(model, x);
        Assert.True(model.Training);
        Assert.Equal(6, stages.Count);   // conv, relu, pool, conv, relu, pool; Flatten ends the conv part
        Assert.IsType<Conv2d>(stages[0].Module);
        var a = FeatureMapRenderer.Arithmetic(stages, x, 1);
        Assert.Equal(a.ModelOutput, a.HandSum, 1e-4);
        Assert.Equal(25 + 4 + 2, a.Table.Rows.Count);   // 5x5 taps; sum, bias, by hand, the layer's; ReLU; pool
        var stats = FeatureMapRenderer.Stats(stages[1]);
        Assert.InRange(stats.Sparsity, 0.2, 0.8);
    }

    [Fact]
    public void DcRatioIsZeroForAnEdgeKernelAndOneForABlur()
    {
        var w = Tensor.FromArray([-1f, 0, 1, -1, 0, 1, -1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], 2, 1, 3, 3);
        Assert.Equal([0.0, 1.0], FeatureMapsExperiment.DcRatios(w));
    }
}
