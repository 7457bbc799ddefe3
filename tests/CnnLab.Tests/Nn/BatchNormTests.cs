using CnnLab.Nn;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

public class BatchNormTests
{
    private const string Script = "tools/reference/make_fixtures.py";

    public static TheoryData<string> Cases() => new() { "bn2d_train", "bn2d_eval", "bn2d_train_cma", "bn1d_train", "bn1d_eval_3d" };

    // Tolerance 1e-4 relative / 1e-5 absolute: statistics are sums over up to 120 values per channel,
    // accumulated in double here and in float32 (with a different order) by PyTorch.
    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPyTorch(string name)
    {
        var c = Fixtures.Load("batchnorm", name);
        var cfg = Fixtures.Config(c);
        bool train = cfg.GetProperty("train").GetBoolean();
        double? momentum = cfg.GetProperty("momentum").ValueKind == System.Text.Json.JsonValueKind.Null
            ? null
            : cfg.GetProperty("momentum").GetDouble();
        int channels = c.Tensors["weight"].Numel;
        BatchNorm bn = cfg.GetProperty("rank").GetInt32() == 4
            ? new BatchNorm2d(channels, momentum: momentum)
            : new BatchNorm1d(channels, momentum: momentum);
        c.Tensors["weight"].Data.CopyTo(bn.Weight!.Data);
        c.Tensors["bias"].Data.CopyTo(bn.Bias!.Data);
        c.Tensors["running_mean_before"].Data.CopyTo(bn.RunningMean!.Data);
        c.Tensors["running_var_before"].Data.CopyTo(bn.RunningVar!.Data);
        bn.Train(train);
        var x = c.Tensors["x"].RequiresGrad_();
        var y = bn.Forward(x);
        Fixtures.AssertClose(c.Tensors["y"], y, 1e-4, 1e-5, name + " y", Script);
        (y * c.Tensors["dy"]).Sum().Backward();
        Fixtures.AssertClose(c.Tensors["dx"], x.Grad!, 1e-4, 1e-4, name + " dx", Script);
        Fixtures.AssertClose(c.Tensors["dweight"], bn.Weight.Grad!, 1e-4, 1e-4, name + " dweight", Script);
        Fixtures.AssertClose(c.Tensors["dbias"], bn.Bias.Grad!, 1e-4, 1e-4, name + " dbias", Script);
        Fixtures.AssertClose(c.Tensors["running_mean_after"], bn.RunningMean, 1e-5, 1e-6, name + " running_mean", Script);
        Fixtures.AssertClose(c.Tensors["running_var_after"], bn.RunningVar, 1e-5, 1e-6, name + " running_var", Script);
    }

    [Fact]
    public void GradCheckTrainAndEval()
    {
        var g = new Generator(4);
        GradCheck.Check(t => Functional.BatchNorm(t[0], null, null, t[1], t[2], true, 0.1, 1e-5f),
            [Tensor.Randn(g, 3, 2, 3, 3), Tensor.Rand(g, 2), Tensor.Randn(g, 2)], what: "batchnorm train");
        var rm = Tensor.Randn(g, 4);
        var rv = Functional.AddScalar(Tensor.Rand(g, 4), 0.5f).Detach();
        GradCheck.Check(t => Functional.BatchNorm(t[0], rm, rv, t[1], t[2], false, 0.1, 1e-5f),
            [Tensor.Randn(g, 5, 4), Tensor.Rand(g, 4), Tensor.Randn(g, 4)], what: "batchnorm eval");
        GradCheck.Check(t => Functional.BatchNorm(t[0], null, null, null, null, true, 0.1, 1e-5f),
            [Tensor.Randn(g, 6, 3, 2)], what: "batchnorm no affine");
    }

    [Fact]
    public void DefaultsAndStateDictKeysMatchPyTorch()
    {
        var bn = new BatchNorm2d(8);
        Assert.Equal(1e-5f, bn.Eps);
        Assert.Equal(0.1, bn.Momentum);
        Assert.All(bn.Weight!.ToArray(), v => Assert.Equal(1f, v));
        Assert.All(bn.Bias!.ToArray(), v => Assert.Equal(0f, v));
        Assert.All(bn.RunningVar!.ToArray(), v => Assert.Equal(1f, v));
        Assert.Equal(["weight", "bias", "running_mean", "running_var", "num_batches_tracked"], bn.StateDict().Keys);
        Assert.Equal(["weight", "bias"], bn.NamedParameters().Select(p => p.Name));
        Assert.Equal("BatchNorm2d(8, eps=1E-05, momentum=0.1, affine=True, track_running_stats=True)", bn.ToString());
    }

    [Fact]
    public void OneValuePerChannelInTrainingIsAnError()
    {
        var bn = new BatchNorm1d(3);
        var e = Assert.Throws<ArgumentException>(() => bn.Forward(Tensor.Zeros(1, 3)));
        Assert.Contains("Expected more than 1 value per channel when training", e.Message);
        bn.Eval();
        Assert.Equal([1, 3], bn.Forward(Tensor.Zeros(1, 3)).Shape);
        Assert.Throws<ArgumentException>(() => new BatchNorm2d(3).Forward(Tensor.Zeros(2, 4, 2, 2)));
        Assert.Throws<ArgumentException>(() => new BatchNorm2d(3).Forward(Tensor.Zeros(2, 3)));
    }

    [Fact]
    public void TracksBatchesAndNormalizes()
    {
        var bn = new BatchNorm2d(2);
        var x = Tensor.Randn(new Generator(1), 8, 2, 4, 4) * 5f + 3f;
        var y = bn.Forward(x);
        Assert.Equal(1f, bn.NumBatchesTracked!.Item());
        // per-channel output mean 0 and (biased) variance 1
        for (int ch = 0; ch < 2; ch++)
        {
            var vals = Enumerable.Range(0, 8).SelectMany(n => Enumerable.Range(0, 16).Select(k => (double)y.Data[(n * 2 + ch) * 16 + k])).ToArray();
            Assert.Equal(0, vals.Average(), 4);
            Assert.Equal(1, vals.Select(v => v * v).Average(), 3);
        }
    }
}
