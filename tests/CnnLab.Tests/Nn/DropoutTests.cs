using CnnLab.Nn;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

public class DropoutTests
{
    [Fact]
    public void ZeroesAboutPAndScalesSurvivors()
    {
        var d = new Dropout(0.3f, new Generator(5));
        var y = d.Forward(Tensor.Ones(100_000)).ToArray();
        double zeros = y.Count(v => v == 0f) / (double)y.Length;
        // binomial standard error √(p(1−p)/n) ≈ 0.00145; allow 5 SE
        Assert.InRange(zeros, 0.3 - 0.0073, 0.3 + 0.0073);
        Assert.All(y.Where(v => v != 0f), v => Assert.Equal(1f / 0.7f, v, 6));
    }

    [Fact]
    public void EvalIsIdentityAndPValidated()
    {
        var d = new Dropout(0.5f);
        d.Eval();
        var x = Tensor.Randn(new Generator(1), 10);
        Assert.Same(x, d.Forward(x));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(1.5f));
        Assert.All(Functional.Dropout(Tensor.Ones(10), 1f, true, new Generator(1)).ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void GradientUsesTheSameMask()
    {
        // A fresh generator with a fixed seed inside f gives the same mask on every evaluation.
        GradCheck.Check(t => Functional.Dropout(t[0], 0.4f, true, new Generator(3)), [Tensor.Randn(new Generator(2), 4, 5)], what: "dropout");
    }
}
