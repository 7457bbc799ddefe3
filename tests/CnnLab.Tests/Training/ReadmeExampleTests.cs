using CnnLab.Data;
using CnnLab.Nn;
using CnnLab.Nn.Models;
using CnnLab.Optim;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

public class ReadmeExampleTests
{
    [Fact]
    public void TheReadmeTrainingLoopRunsAndLearns()
    {
        // The loop from README.md, on 256 images, batches of 64, two epochs so it stays fast.
        var data = FashionMnist.LoadEmbeddedSubset();
        var model = ModelZoo.Create("cnn-small", new Generator(seed: 0));
        var optimizer = new AdamW(WeightDecayGroups.Split(model), lr: 1e-3);
        var loader = new DataLoader(data.Train.Take(256), batchSize: 64, shuffle: true, seed: 0);
        var losses = new List<float>();
        for (int epoch = 0; epoch < 2; epoch++)
            foreach (var (x, y) in loader.Epoch(epoch))
            {
                optimizer.ZeroGrad();
                var loss = Functional.CrossEntropy(model.Forward(x), y);
                loss.Backward();
                optimizer.Step();
                losses.Add(loss.Item());
            }
        Assert.Equal(8, losses.Count);
        Assert.True(losses[^1] < losses[0] * 0.8f, $"loss {losses[0]} → {losses[^1]}");
    }
}
