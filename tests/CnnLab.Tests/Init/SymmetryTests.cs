using CnnLab.Init;
using CnnLab.Nn;
using CnnLab.Tensors;
using Xunit;
using Xunit.Abstractions;
using CnnLab.Init.Networks;

namespace CnnLab.Tests;

/// <summary>
/// The notes' claim "zero initialization prevents learning because it does not break symmetry", shown:
/// a 2-hidden-layer MLP trained 50 steps of plain SGD on a seeded 10-class Gaussian-blob dataset keeps
/// every hidden unit identical under zero or constant weights, and stays near chance; Kaiming learns.
/// (Widths are multiples of the GEMM's 32-column tile: identical units then take the same arithmetic
/// path, so "identical" is bitwise.)
/// </summary>
public class SymmetryTests(ITestOutputHelper output)
{
    private const int Features = 32, Classes = 10, Hidden = 64;

    // Blobs: class centers ~ N(0, I), examples = center + N(0, 0.5²·I).
    private static (Tensor X, int[] Y) Blobs(int n, Generator centersGen, Generator g)
    {
        var centers = Tensor.Randn(centersGen, Classes, Features);
        var x = new Tensor(n, Features);
        var y = new int[n];
        for (int i = 0; i < n; i++)
        {
            y[i] = i % Classes;
            for (int j = 0; j < Features; j++) x[i, j] = centers[y[i], j] + 0.5f * (float)g.NextGaussian();
        }
        return (x, y);
    }

    private static double Accuracy(Module model, Tensor x, int[] y)
    {
        Tensor logits;
        using (Autograd.NoGrad()) logits = model.Forward(x);
        int correct = 0;
        for (int i = 0; i < y.Length; i++)
        {
            int best = 0;
            for (int c = 1; c < Classes; c++) if (logits[i, c] > logits[i, best]) best = c;
            if (best == y[i]) correct++;
        }
        return (double)correct / y.Length;
    }

    private static double MaxPairwiseRowDifference(Tensor w)
    {
        int rows = w.Shape[0], cols = w.Shape[1];
        double worst = 0;
        for (int a = 0; a < rows; a++)
            for (int b = a + 1; b < rows; b++)
                for (int j = 0; j < cols; j++) worst = Math.Max(worst, Math.Abs(w[a, j] - w[b, j]));
        return worst;
    }

    private (double Accuracy, double Diff1, double Diff2) Train(string scheme)
    {
        var train = Blobs(300, new Generator(100), new Generator(1));
        var test = Blobs(500, new Generator(100), new Generator(2));
        var g = new Generator(7);
        var model = new Sequential(new Linear(Features, Hidden, generator: g), new ReLU(),
            new Linear(Hidden, Hidden, generator: g), new ReLU(), new Linear(Hidden, Classes, generator: g));
        InitScheme.Parse(scheme).Apply(model, g);
        const float lr = 0.1f;
        for (int step = 0; step < 50; step++)
        {
            var loss = Functional.CrossEntropy(model.Forward(train.X), train.Y);
            loss.Backward();
            foreach (var p in model.Parameters()) // plain SGD: p ← p − lr·∇p
            {
                Span<float> data = p.Data, grad = p.Grad!.Data;
                for (int i = 0; i < data.Length; i++) data[i] -= lr * grad[i];
                p.ZeroGrad();
            }
        }
        double acc = Accuracy(model, test.X, test.Y);
        double d1 = MaxPairwiseRowDifference(((Linear)model[0]).Weight), d2 = MaxPairwiseRowDifference(((Linear)model[2]).Weight);
        output.WriteLine($"{scheme}: test accuracy {acc:P1}, max pairwise row difference: hidden 1 {d1:G3}, hidden 2 {d2:G3}");
        return (acc, d1, d2);
    }

    [Theory]
    [InlineData("zeros")]
    [InlineData("constant:0.1")]
    public void SymmetricInitKeepsHiddenUnitsIdentical(string scheme)
    {
        var (acc, d1, d2) = Train(scheme);
        Assert.Equal(0.0, d1);
        Assert.Equal(0.0, d2);
        // a layer of identical units is one unit: the net sees a single direction of the input
        Assert.InRange(acc, 0.0, 0.3);
    }

    [Fact]
    public void KaimingLearns()
    {
        var (acc, d1, d2) = Train("kaiming-normal");
        Assert.True(d1 > 0.1 && d2 > 0.1);
        Assert.True(acc > 0.9, $"Kaiming accuracy {acc:P1}");
    }
}
