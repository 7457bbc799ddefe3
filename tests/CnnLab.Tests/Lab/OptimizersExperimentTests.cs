using CnnLab.Data;
using CnnLab.Lab;
using CnnLab.Lab.Experiments;
using CnnLab.Nn;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

public class OptimizersExperimentTests
{
    [Fact]
    public void SurfaceGradients_FromAutograd_MatchTheAnalyticOnes()
    {
        var p = new Parameter(Tensor.FromArray([-1.5f, 2f], 2));
        TestSurface.Rosenbrock(1).F(p).Backward();
        // ∂f/∂x = −2(1 − x) − 400x(y − x²), ∂f/∂y = 200(y − x²)
        Assert.Equal(-2 * 2.5 - 400 * -1.5 * (2 - 2.25), p.Grad!.Data[0], 2);
        Assert.Equal(200 * (2 - 2.25), p.Grad!.Data[1], 3);
        var q = new Parameter(Tensor.FromArray([3f, 0.5f], 2));
        TestSurface.Bowl(1).F(q).Backward();
        Assert.Equal(3f, q.Grad!.Data[0], 5);
        Assert.Equal(50f, q.Grad!.Data[1], 4);
        Assert.Equal(0.5 * (9 + 25), TestSurface.Bowl(1).Value(3, 0.5), 12);
    }

    [Fact]
    public void Saddle_PlainSgdEscapesAtThePredictedStep_AdamSooner_NobodyFromTheAxis()
    {
        var s = TestSurface.Saddle(150);
        var sgd = SurfacePath.Run(OptimizerKind.Sgd, 0.05, s.F, s.Start, 150, 2);
        Assert.Equal((int)Math.Ceiling(Math.Log(1000) / Math.Log(1.1)), sgd.EscapeStep);   // |y| grows by 1 + 2·lr per step: 73
        var adam = SurfacePath.Run(OptimizerKind.Adam, 0.05, s.F, s.Start, 150, 2);
        Assert.InRange(adam.EscapeStep!.Value, 15, 25);                                    // ≈ 1/lr: Adam moves y by ≈ lr per step
        foreach (var k in OptimizerKinds.All)
            Assert.Null(SurfacePath.Run(k, 0.05, s.F, (1, 0), 150, 2).EscapeStep);
    }

    [Fact]
    public void Bowl_SgdFirstStepFollowsTheGradientRatio_AdamMovesEachCoordinateByLr()
    {
        var s = TestSurface.Bowl(3);
        var sgd = SurfacePath.Run(OptimizerKind.Sgd, 0.01, s.F, s.Start, 1);
        Assert.Equal(20.0, Math.Abs(sgd.Y[1] - sgd.Y[0]) / Math.Abs(sgd.X[1] - sgd.X[0]), 3);  // gradient (−5, 100)
        var adam = SurfacePath.Run(OptimizerKind.Adam, 0.1, s.F, s.Start, 1);
        Assert.Equal(0.1, Math.Abs(adam.X[1] - adam.X[0]), 4);
        Assert.Equal(0.1, Math.Abs(adam.Y[1] - adam.Y[0]), 4);
    }

    [Fact]
    public void TinyBudget_ProducesFiguresMetrics_AndAVerdictBuiltFromThem()
    {
        var dir = Path.Combine(Path.GetTempPath(), "cnnlab-test-optimizers-" + Guid.NewGuid().ToString("N"));
        try
        {
            var ctx = new LabContext(dir, FashionMnist.LoadEmbeddedSubset(), "embedded subset", LabMode.Quick, 0, TextWriter.Null);
            var r = new OptimizersExperiment(new OptimizersBudget("lenet5", 4, 16, 100, 150, 300, 100)).Run(ctx);
            var saddle = (Dictionary<string, object?>)r.Metrics["saddle"]!;
            var sgd = (Dictionary<string, object?>)saddle["SGD"]!;
            Assert.Equal(73, (int?)sgd["escape_step"]);
            Assert.Contains("plain SGD needs 73 steps", r.Verdict);
            var bowl = (Dictionary<string, object?>)r.Metrics["bowl"]!;
            double sgdDist = (double)((Dictionary<string, object?>)bowl["SGD"]!)["distance_to_minimum"]!;
            double adamDist = (double)((Dictionary<string, object?>)bowl["Adam"]!)["distance_to_minimum"]!;
            Assert.True(sgdDist > adamDist, $"bowl: SGD {sgdDist} vs Adam {adamDist}");
            Assert.Equal((bool)r.Metrics["agrees_saddle"]! && (bool)r.Metrics["agrees_bowl"]! && (bool)r.Metrics["agrees_training"]!, r.Agrees);
            Assert.Equal(4, r.Figures.Count);
            Assert.All(r.Figures, f => Assert.True(File.Exists(f.Png), f.Png));
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }
}
