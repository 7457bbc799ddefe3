using System.Globalization;
using CnnLab.Data;
using CnnLab.Lab;
using CnnLab.Lab.Experiments;
using CnnLab.Nn;
using Xunit;

namespace CnnLab.Tests;

public class InitDepthExperimentTests
{
    private static readonly InitDepthExperiment.Budget Tiny = new(Width: 32, Depths: [3, 6], StatsBatch: 32, MlpSteps: 5,
        CnnChannels: 4, CnnDepths: [4, 6], CnnSteps: 5, CnnBatch: 8, CnnLr: 0.01, Threshold: 2.0);

    [Fact]
    public void StepsToFindsTheFirstWindowBelowTheThreshold()
    {
        double[] losses = [3, 3, 3, 1, 1, 1, 1];
        Assert.Equal(5, InitDepthExperiment.StepsTo(losses, 2.0, window: 3)); // (3+1+1)/3 = 1.67 at step 5
        Assert.Null(InitDepthExperiment.StepsTo(losses, 0.5, window: 3));
        Assert.Null(InitDepthExperiment.StepsTo([3, double.NaN, 0, 0, 0], 2.0, window: 2));
    }

    [Fact]
    public void KaimingKeepsReluStdAndXavierHalvesTheVariancePerLayer()
    {
        var data = FashionMnist.LoadEmbeddedSubset();
        var (x, y) = LabTraining.FirstBatch(data.Train, 128);
        var kaiming = InitDepthExperiment.Measure(InitDepthExperiment.Mlp(12, 256, "relu", "kaiming-normal", 0), x, y);
        var xavier = InitDepthExperiment.Measure(InitDepthExperiment.Mlp(12, 256, "relu", "xavier-normal", 0), x, y);
        Assert.Equal(12, kaiming.Activations.Count);
        Assert.Equal(12, kaiming.Gradients.Count);
        Assert.InRange(kaiming.ForwardRatio, 0.6, 1.6);
        // 11 layers of ×1/√2: 0.022.
        Assert.InRange(xavier.ForwardRatio, 0.022 / 1.6, 0.022 * 1.6);
    }

    [Fact]
    public void PlainCnnHasTheZooLayout()
    {
        var net = InitDepthExperiment.PlainCnn(6, 4, 0);
        Assert.Equal(6, net.Layers.Count(l => l is Conv2d));
        Assert.Equal(2, net.Layers.Count(l => l is MaxPool2d));
        Assert.IsType<MaxPool2d>(net[2 * 2]);      // after conv 2 (= ⌈6/3⌉): conv, relu, conv, relu, pool
        var zoo = InitDepthExperiment.PlainCnn(6, 16, 0);
        Assert.Equal(CnnLab.Nn.Models.ModelZoo.Create("plain-cnn-6", new CnnLab.Tensors.Generator(0)).ToString(), zoo.ToString());
    }

    [Fact]
    public void VerdictQuotesTheMeasuredRatios()
    {
        var data = FashionMnist.LoadEmbeddedSubset();
        var dir = Path.Combine(Path.GetTempPath(), "cnnlab-init-depth-" + Guid.NewGuid().ToString("N"));
        try
        {
            var ctx = new LabContext(dir, data, "test", LabMode.Quick, 0, TextWriter.Null);
            var r = new InitDepthExperiment(Tiny).Run(ctx);
            var stats = (Dictionary<string, object?>)r.Metrics["stats_relu_kaiming-normal_depth6"]!;
            double fwd = (double)stats["forward_ratio"]!;
            Assert.InRange(fwd, 0.3, 3);
            Assert.Contains($"ReLU: Kaiming keeps {fwd.ToString("G3", CultureInfo.InvariantCulture)} forward", r.Verdict);
            Assert.Contains("depth 6 Kaiming", r.Verdict);
            Assert.Equal(4 * 5 + 1,
                r.Metrics.Keys.Count(k => k.StartsWith("stats_", StringComparison.Ordinal) && k.EndsWith("depth6", StringComparison.Ordinal)));
            Assert.Equal(11, r.Figures.Count); // with the plain-CNN training curves
            Assert.IsType<double>(r.Metrics["cnn_backward_ratio_depth6_xavier-normal"]);

            // tanh with PyTorch's gain 5/3 is measured and quoted.
            var gain = (Dictionary<string, object?>)r.Metrics["stats_tanh_xavier-normal-gain-5/3_depth6"]!;
            Assert.Contains($"calculate_gain('tanh') = 5/3: {((double)gain["forward_ratio"]!).ToString("G3", CultureInfo.InvariantCulture)}",
                r.Verdict);

            // He et al.: every plain-CNN run trained its steps and is quoted (steps to the threshold, or "never", and the final loss).
            foreach (int depth in new[] { 4, 6 })
                foreach (var init in new[] { "kaiming-normal", "xavier-normal" })
                {
                    var losses = (double[])r.Metrics[$"cnn_loss_depth{depth}_{init}"]!;
                    Assert.Equal(5, losses.Length);
                    Assert.All(losses, l => Assert.InRange(l, 1.5, 3.5));
                    Assert.True(r.Metrics.ContainsKey($"cnn_steps_to_2_depth{depth}_{init}"));
                    double final = (double)r.Metrics[$"cnn_final_loss_depth{depth}_{init}"]!;
                    Assert.Contains(FormattableString.Invariant($"(final loss {final:0.00})"), r.Verdict);
                }
            Assert.Contains("first conv stride 2", (string)r.Metrics["cnn_setup"]!);
            // Xavier's first-layer gradient relative to Kaiming's follows (1/√2)^(D−1) = 0.177 at depth 6.
            double xOverK = (double)r.Metrics["he2015_init_gradient_xavier_over_kaiming"]!;
            Assert.Equal(Math.Pow(0.5, 2.5), (double)r.Metrics["he2015_init_gradient_xavier_over_kaiming_predicted"]!, 12);
            Assert.InRange(xOverK, 0.177 / 3, 0.177 * 3);
            Assert.Contains($"Xavier's is {xOverK.ToString("G3", CultureInfo.InvariantCulture)}× Kaiming's", r.Verdict);
            // A tiny budget cannot separate the inits by 100×, so the mechanism flag and the verdict say so.
            Assert.False((bool)r.Metrics["he2015_init_gradient_kaiming_kept_xavier_vanishes"]!);
            Assert.False(r.Agrees);
            Assert.Contains("did not separate Kaiming from Xavier by 100×", r.Verdict);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
