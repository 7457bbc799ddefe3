using CnnLab.Nn;
using CnnLab.Nn.Models;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

public class WholeModelTests
{
    private const string Script = "tools/reference/make_fixtures.py";

    private static Sequential ConvBnNet() => new(
        new Conv2d(1, 4, 3, padding: 1), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2),
        new Conv2d(4, 6, 3, stride: 2), new ReLU(), new AdaptiveAvgPool2d(1), new Flatten(), new Linear(6, 10));

    // Tolerance: logits and loss 1e-4 relative (a few hundred float32 products summed in different
    // orders per output); gradients 1e-3 relative + 1e-5 absolute (they pass through ~10 layers of
    // such sums, and PyTorch's oneDNN kernels sum in yet another order).
    [Theory]
    [InlineData("lenet5")]
    [InlineData("conv_bn_net")]
    public void LogitsLossAndEveryGradientMatchPyTorch(string name)
    {
        var c = Fixtures.Load("models", name);
        var model = name == "lenet5" ? ModelZoo.Create("lenet5", new Generator(0)) : ConvBnNet();
        var state = c.Tensors.Where(kv => kv.Key.StartsWith("param.", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key["param.".Length..], kv => kv.Value);
        model.LoadStateDict(state);
        var target = c.Tensors["target"].ToArray().Select(v => (int)v).ToArray();
        var logits = model.Forward(c.Tensors["x"]);
        Fixtures.AssertClose(c.Tensors["logits"], logits, 1e-4, 1e-5, name + " logits", Script);
        var loss = Functional.CrossEntropy(logits, target);
        Assert.Equal(c.Tensors["loss"].Data[0], loss.Item(), 4);
        loss.Backward();
        foreach (var (pname, p) in model.NamedParameters())
            Fixtures.AssertClose(c.Tensors["grad." + pname], p.Grad!, 1e-3, 1e-5, $"{name} grad of {pname}", Script);
    }

    [Fact]
    public void SmallCnnOverfits64RandomImages()
    {
        // llm.c-style end-to-end check: a small CNN must memorize 64 fixed random images with random labels.
        var g = new Generator(42);
        var x = Tensor.Randn(g, 64, 1, 12, 12);
        var y = Enumerable.Range(0, 64).Select(_ => g.NextInt(10)).ToArray();
        var model = new Sequential(
            new Conv2d(1, 16, 3, padding: 1, generator: g), new ReLU(), new MaxPool2d(2),
            new Conv2d(16, 32, 3, padding: 1, generator: g), new ReLU(), new MaxPool2d(2),
            new Flatten(), new Linear(32 * 9, 64, generator: g), new ReLU(), new Linear(64, 10, generator: g));
        var optimizer = new CnnLab.Optim.Adam(model.Parameters(), lr: 3e-3);
        float first = 0, last = 0;
        for (int step = 0; step < 150; step++)
        {
            optimizer.ZeroGrad();
            var loss = Functional.CrossEntropy(model.Forward(x), y);
            loss.Backward();
            optimizer.Step();
            if (step == 0) first = loss.Item();
            last = loss.Item();
        }
        using var _ = Autograd.NoGrad();
        var predicted = CnnLab.Training.Evaluation.ArgMaxRows(model.Forward(x));
        Assert.Equal(y, predicted);
        Assert.True(last < first / 20, $"loss went from {first} to {last}");
    }
}
