using CnnLab.Data;
using CnnLab.Nn;
using CnnLab.Nn.Models;
using CnnLab.Optim;
using CnnLab.Tensors;
using CnnLab.Training;
using Xunit;

namespace CnnLab.Tests.Training;

/// <summary>The one training step the Trainer, the lab and <c>cnnlab bench --arena</c> share.</summary>
public class TrainingStepTests
{
    private static (Sequential Model, AdamW Optimizer) Make() =>
        (ModelZoo.Create("cnn-bn", new Generator(seed: 3)) is var m ? m : throw new InvalidOperationException(),
         new AdamW(WeightDecayGroups.Split(m), lr: 1e-3));

    private static IEnumerable<(Tensor X, int[] Y)> Batches()
    {
        var data = FashionMnist.LoadEmbeddedSubset();
        return new DataLoader(data.Train.Take(96), batchSize: 32, shuffle: true, seed: 1).Epoch(0).Select(b => (b.X.Clone(), b.Y.ToArray()));
    }

    [Fact]
    public void GivesTheBitsOfTheReadmeLoop()
    {
        var batches = Batches().ToList();
        var (plain, plainOptimizer) = Make();
        var plainLosses = new List<float>();
        foreach (var (x, y) in batches)
        {
            plainOptimizer.ZeroGrad();
            var loss = Functional.CrossEntropy(plain.Forward(x), y);
            loss.Backward();
            plainOptimizer.Step();
            plainLosses.Add(loss.Item());
        }
        var (model, optimizer) = Make();
        var step = new TrainingStep(model, optimizer);
        Assert.NotNull(step.Arena);
        var losses = batches.Select((b, i) => step.Run(b.X, b.Y, i + 1).Loss).ToList();
        Assert.Equal(plainLosses, losses);
        var expected = plain.StateDict();
        foreach (var (name, t) in model.StateDict())
            Assert.True(expected[name].Data.SequenceEqual(t.Data), name);
    }

    [Fact]
    public void ADivergedStepNamesTheLayerAndUpdatesNothing()
    {
        var (model, optimizer) = Make();
        var step = new TrainingStep(model, optimizer);
        var (x, y) = Batches().First();
        var bad = x.Clone();
        bad.Data[5] = float.NaN;
        var before = model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Data.ToArray());
        var outcome = step.Run(bad, y, 7, predictions: true);
        Assert.NotNull(outcome.Diverged);
        Assert.Equal(7, outcome.Diverged!.Step);
        Assert.Equal("forward", outcome.Diverged.Where);
        foreach (var (name, t) in model.StateDict())
            if (name.EndsWith("weight") || name.EndsWith("bias"))
                Assert.True(before[name].AsSpan().SequenceEqual(t.Data), name);
        Assert.Null(step.Run(x, y, 8).Diverged);
    }

    [Fact]
    public void AnUpdateThatMakesAWeightInfiniteIsReported()
    {
        var model = ModelZoo.Create("cnn-bn", new Generator(seed: 3));
        var optimizer = new AdamW(WeightDecayGroups.Split(model), lr: 1e-3, weightDecay: 1e300);   // p·(1 − lr·λ) overflows
        var (x, y) = Batches().First();
        var outcome = new TrainingStep(model, optimizer).Run(x, y, 4);
        Assert.True(float.IsFinite(outcome.Loss));
        Assert.Equal("update", outcome.Diverged?.Where);
        Assert.Contains("lower --lr or --weight-decay", outcome.Diverged!.Message);
    }

    [Fact]
    public void AHookedModelKeepsItsTensors()
    {
        var (model, optimizer) = Make();
        var kept = new List<Tensor>();
        using var hook = model.Children().First().RegisterForwardHook((_, _, output) => kept.Add(output));
        var step = new TrainingStep(model, optimizer);
        Assert.Null(step.Arena);
        var (x, y) = Batches().First();
        step.Run(x, y, 1);
        var copy = kept[0].Data.ToArray();
        step.Run(x, y, 2);
        step.Run(x, y, 3);
        Assert.Equal(3, kept.Count);
        Assert.True(copy.AsSpan().SequenceEqual(kept[0].Data), "the first step's output is still its own, not a recycled buffer");
    }
}
