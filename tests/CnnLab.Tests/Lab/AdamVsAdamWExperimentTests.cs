using CnnLab.Data;
using CnnLab.Lab;
using CnnLab.Lab.Experiments;
using Xunit;

namespace CnnLab.Tests;

public class AdamVsAdamWExperimentTests
{
    [Fact]
    public void AdamL2_ShrinksAZeroGradientWeightByAboutLr_WhateverLambda_AdamW_ByLrTimesLambda()
    {
        foreach (double lambda in new[] { 1e-4, 1e-2 })
        {
            var l2 = DecoupledDecayProbe.Measure(DecayMethod.AdamL2, 1e-3, lambda, 200);
            Assert.InRange(l2.ShrinkZeroGrad, 0.8e-3, 1.05e-3);              // ≈ lr, independent of λ
            Assert.True(l2.ShrinkLargeGrad < l2.ShrinkZeroGrad / 50, $"L2 large-gradient shrink {l2.ShrinkLargeGrad}");
            var w = DecoupledDecayProbe.Measure(DecayMethod.AdamWTorch, 1e-3, lambda, 200);
            double tol = Math.Max(1e-3 * lambda * 0.05, 6e-8);   // float32: 1 − 1e-7 rounds to 1 − 1.19e-7
            Assert.Equal(1e-3 * lambda, w.ShrinkZeroGrad, tol);
            Assert.Equal(1e-3 * lambda, w.ShrinkLargeGrad, tol);
        }
        // Paper form without a schedule: η = 1, so λ itself is the per-step shrink.
        Assert.Equal(1e-4, DecoupledDecayProbe.Measure(DecayMethod.AdamWPaper, 1e-3, 1e-4, 200).ShrinkZeroGrad, 5e-6);
    }

    [Fact]
    public void GridSummary_FindsBestCell_CellsWithinOnePoint_AndBestLambdaPerRow()
    {
        double[,] acc = { { 0.70, 0.74, 0.60 }, { 0.80, 0.795, 0.71 } };
        var grid = new DecayCellResult[2, 3];
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                grid[i, j] = new DecayCellResult(DecayMethod.AdamL2, i + 1, j + 10, acc[i, j], 0.9, [1], [0.9], [acc[i, j]], [1, 1], [1], 1e-3);
        var s = GridSummary.Of(grid, [1, 2], [10, 11, 12]);
        Assert.Equal(0.80, s.Best.TestAccuracy);
        Assert.Equal(2, s.WithinOnePoint);
        Assert.Equal([11.0, 10.0], s.BestLambdaPerLr);
        Assert.Equal(1, s.BestLambdaSpread);
        Assert.Equal(0.9 - 0.80, s.Best.Gap, 12);
    }

    [Fact]
    public void TinyGrid_ProducesHeatmaps_Metrics_AndAVerdictBuiltFromThem()
    {
        var dir = Path.Combine(Path.GetTempPath(), "cnnlab-test-adamw-" + Guid.NewGuid().ToString("N"));
        try
        {
            var ctx = new LabContext(dir, FashionMnist.LoadEmbeddedSubset(), "embedded subset", LabMode.Quick, 0, TextWriter.Null);
            var budget = new DecayGridBudget("lenet5", 128, 6, 16, 1, 100, [1e-3], [1e-4, 1e-2], [1e-2, 1], 1e-3);
            var r = new AdamVsAdamWExperiment(budget).Run(ctx);
            var l2 = (double[][])r.Metrics["adam_l2_test_accuracy"]!;
            Assert.Single(l2);
            Assert.All(l2.SelectMany(x => x), a => Assert.InRange(a, 0, 1));
            var summary = (Dictionary<string, object?>)r.Metrics["adam_l2_summary"]!;
            double best = (double)summary["best_test_accuracy"]!;
            Assert.Equal(l2.SelectMany(x => x).Max(), best);
            Assert.Contains($"Adam + L2 {best.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture)}", r.Verdict);
            Assert.Equal((bool)r.Metrics["accuracy_agrees"]! && (bool)r.Metrics["region_agrees"]!, r.Agrees);
            Assert.True((bool)r.Metrics["mechanism_coupled"]!);
            // Adam + L2 with λ 1e-2 shrinks ‖W‖ faster than AdamW with the same numeric λ at the same lr.
            var l2Norm = ((double[][])r.Metrics["adam_l2_final_weight_norm"]!)[0][1];
            var wNorm = ((double[][])r.Metrics["adamw_torch_final_weight_norm"]!)[0][0];
            Assert.True(l2Norm < wNorm, $"‖W‖ Adam+L2 {l2Norm} vs AdamW {wNorm}");
            Assert.Equal(6, r.Figures.Count);
            Assert.All(r.Figures, f => Assert.True(File.Exists(f.Png), f.Png));
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }
}
