using CnnLab.Nn;
using CnnLab.Tensors;
using CnnLab.Training;
using Xunit;

namespace CnnLab.Tests;

public class MetricsTests
{
    [Fact]
    public void ConfusionMatrixCountsAndAccuracies()
    {
        var m = new ConfusionMatrix(3);
        m.Add(0, 0); m.Add(0, 1); m.Add(1, 1); m.Add(2, 2); m.Add(2, 2);
        Assert.Equal(0.8, m.Accuracy, 12);
        var per = m.PerClassAccuracy();
        Assert.Equal(0.5, per[0], 12);
        Assert.Equal(1.0, per[1], 12);
        Assert.Equal(1, m[0, 1]);
        Assert.Contains("confusion matrix", m.ToText(["a", "b", "c"]));
    }

    [Fact]
    public void GuardNamesTheFirstNonFiniteLayer()
    {
        var model = new Sequential(new Linear(2, 2, generator: new Generator(1)), new ReLU(), new Linear(2, 1, generator: new Generator(2)));
        ((Linear)model[2]).Weight.Data[0] = float.NaN;
        var guard = new NonFiniteGuard(model);
        var x = Tensor.Ones(1, 2);
        var y = model.Forward(x);
        Assert.Null(guard.CheckLoss(1.5f, 7, x));                  // a finite loss is not looked into
        var report = guard.CheckLoss(y.Sum().Item(), 7, x);
        Assert.DoesNotContain(model.NamedModules(), m => m.Module.HasForwardHooks); // the locating hooks are gone
        Assert.NotNull(report);
        Assert.Equal("2", report!.Layer);
        Assert.Contains("step 7", report.Message);
        Assert.False(NonFiniteGuard.IsFinite([1f, float.PositiveInfinity]));
        Assert.True(NonFiniteGuard.IsFinite(new float[10_000]));
    }

    [Fact]
    public void EvaluationRestoresTrainingMode()
    {
        var model = new Sequential(new Linear(3, 4, generator: new Generator(1)));
        var x = Tensor.Randn(new Generator(2), 5, 3);
        var result = Evaluation.Run(model, [(x, new[] { 0, 1, 2, 3, 0 })], 4);
        Assert.True(model.Training);
        Assert.Equal(5, result.Confusion.Total);
        Assert.True(result.Loss > 0);
    }

    [Fact]
    public void ANonFiniteTestLossIsWrittenNotThrown()
    {
        var line = new CnnLab.Training.EpochMetrics(1, 0.5, 0.9, double.PositiveInfinity, 0.1, 1e-3, 2, 100, 10).ToJson();
        Assert.Contains("\"test_loss\":\"Infinity\"", line);
        Assert.Contains("\"train_loss\":0.5", line);
    }
}
