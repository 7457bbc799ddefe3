using System.Globalization;
using CnnLab.Data;
using CnnLab.Lab.Experiments;
using CnnLab.Nn.Models;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

public class ReluOrderExperimentTests
{
    [Fact]
    public void MaxPoolOrdersAreIdenticalAndAvgPoolOrdersDiffer()
    {
        var r = new ReluOrderExperiment(batch: 8, avgSteps: 2, maxSteps: 2, testImages: 40).Run(LabTestContext.Create("relu-order"));
        Assert.Equal(0.0, (double)r.Metrics["max_abs_diff_max_pool"]!);
        Assert.Equal(0.0, (double)r.Metrics["max_abs_diff_logits_max_pool"]!);
        Assert.Equal(0.0, (double)r.Metrics["max_loss_diff_max_pool_training"]!);
        double avg = (double)r.Metrics["max_abs_diff_avg_pool"]!;
        Assert.True(avg > 1e-3, $"avg-pool orders should differ: {avg}");
        Assert.True((double)r.Metrics["mean_activation_relu_first_avg_pool"]! >= (double)r.Metrics["mean_activation_pool_first_avg_pool"]!,
            "mean(ReLU) ≥ ReLU(mean)");
        Assert.Equal(4 * (int)r.Metrics["relu_elements_pool_first"]!, (int)r.Metrics["relu_elements_relu_first"]!);
        Assert.False(r.Agrees);
        Assert.Contains("does not matter at all", r.Verdict);
        Assert.Contains(avg.ToString("0.###e0", CultureInfo.InvariantCulture), r.Verdict);
    }

    [Fact]
    public void PairSharesWeights()
    {
        var (a, b) = ReluOrderExperiment.Pair(PoolKind.Avg, 5);
        Assert.Equal(a.StateDict()["3.weight"].ToArray(), b.StateDict()["3.weight"].ToArray());
        Assert.IsType<Nn.ReLU>(a[1]);
        Assert.IsType<Nn.AvgPool2d>(b[1]);
    }
}

public class WeightSharingExperimentTests
{
    [Fact]
    public void ConvIsExactlyEquivariantDenseIsNotAndCountsAreRight()
    {
        var r = new WeightSharingExperiment(images: 2).Run(LabTestContext.Create("weight-sharing"));
        Assert.Equal(320L, r.Metrics["params_conv_1x28x28_to_32x28x28"]);
        Assert.Equal(19_694_080L, r.Metrics["params_dense_1x28x28_to_32x28x28"]);
        Assert.All((double[])r.Metrics["conv_equivariance_error"]!, e => Assert.True(e < 1e-6, $"conv error {e}"));
        Assert.All((double[])r.Metrics["dense_equivariance_error"]!, e => Assert.True(e > 0.1, $"dense error {e}"));
        Assert.True((double)r.Metrics["pooled_relative_change_shift1"]! < (double)r.Metrics["unpooled_relative_change_shift1"]!);
        Assert.True(r.Agrees);
        Assert.Contains("19,694,080", r.Verdict);
    }

    [Fact]
    public void ShiftMovesValuesAndFillsTheBorder()
    {
        var t = Tensor.FromArray([1, 2, 3, 4, 5, 6, 7, 8, 9], 1, 1, 3, 3);
        Assert.Equal([-1f, -1, -1, -1, 1, 2, -1, 4, 5], WeightSharingExperiment.Shift(t, 1, 1, -1).ToArray());
        Assert.Equal([2f, 3, 0, 5, 6, 0, 8, 9, 0], WeightSharingExperiment.Shift(t, -1, 0, 0).ToArray());
    }
}

public class PoolingExperimentTests
{
    [Fact]
    public void TinyRunMeasuresEveryVariant()
    {
        var r = new PoolingExperiment(steps: 3, width: 2, testImages: 40).Run(LabTestContext.Create("pooling"));
        foreach (var k in new[] { "max", "avg", "strided-conv", "gap" })
        {
            var acc = (double[])r.Metrics[$"shift_acc_{k}"]!;
            Assert.Equal(4, acc.Length);
            Assert.All(acc, a => Assert.InRange(a, 0, 1));
            Assert.True((double)r.Metrics[$"images_per_s_{k}"]! > 0);
            Assert.InRange((double)r.Metrics[$"sparsity_pool1_{k}"]!, 0, 1);
        }
        Assert.True((long)r.Metrics["params_gap"]! < (long)r.Metrics["params_max"]!);
        Assert.Equal(0.0, (double)r.Metrics["sparsity_pool2_strided-conv"]!, 2);
        Assert.Contains(((long)r.Metrics["params_gap"]!).ToString("N0", CultureInfo.InvariantCulture), r.Verdict);
        Assert.Contains("When to prefer average pooling", r.Verdict);
    }

    [Fact]
    public void WideVariantsAreTheZooCnnSmallAndGapHeadIsSmall()
    {
        var max = PoolingExperiment.Build("max", 32, new Generator(1));
        Assert.Equal(ModelZoo.Create("cnn-small", new Generator(1)).ToString(), max.ToString());
        var gap = PoolingExperiment.Build("gap", 32, new Generator(1));
        Assert.Contains(gap.Layers, l => l is Nn.AdaptiveAvgPool2d);
        Assert.Equal(64 * 128 + 128, gap.NamedParameters().Where(p => p.Name == "8.weight" || p.Name == "8.bias").Sum(p => p.Parameter.Numel));
        Assert.Throws<ArgumentException>(() => PoolingExperiment.Build("median", 4, new Generator(1)));
    }

    [Fact]
    public void ShiftedDatasetMovesBytesAndFillsWithZero()
    {
        var pixels = Enumerable.Range(1, 9).Select(v => (byte)v).ToArray();
        var d = new ImageDataset("t", "t", pixels, [0], 1, 3, 3, ["a"]);
        Assert.Equal(new byte[] { 0, 0, 0, 0, 1, 2, 0, 4, 5 }, PoolingExperiment.Shift(d, 1, 1).Pixels.ToArray());
        Assert.Equal(new byte[] { 4, 5, 6, 7, 8, 9, 0, 0, 0 }, PoolingExperiment.Shift(d, 0, -1).Pixels.ToArray());
    }
}
