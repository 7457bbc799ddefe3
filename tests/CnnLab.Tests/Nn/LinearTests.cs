using CnnLab.Nn;
using CnnLab.Tensors;

using Xunit;

namespace CnnLab.Tests;

public class LinearTests
{
    [Fact]
    public void ForwardByHand()
    {
        // x = [1, 2], W = [[1, 0], [2, 3], [-1, 1]], b = [0.5, 0, 1] → y = [1.5, 8, 2]
        var lin = new Linear(2, 3);
        Tensor.FromArray([1, 0, 2, 3, -1, 1], 3, 2).Data.CopyTo(lin.Weight.Data);
        Tensor.FromArray([0.5f, 0, 1]).Data.CopyTo(lin.Bias!.Data);
        Assert.Equal([1.5f, 8f, 2f], lin.Forward(Tensor.FromArray([1, 2], 1, 2)).ToArray());
    }

    [Fact]
    public void GradCheckWithAndWithoutBias()
    {
        var g = new Generator(3);
        GradCheck.Check(x => Functional.Linear(x[0], x[1], x[2]), [Tensor.Randn(g, 5, 7), Tensor.Randn(g, 3, 7), Tensor.Randn(g, 3)], what: "linear");
        GradCheck.Check(x => Functional.Linear(x[0], x[1]), [Tensor.Randn(g, 2, 4, 7), Tensor.Randn(g, 3, 7)], what: "linear nobias 3d");
    }

    [Fact]
    public void DefaultInitIsUniformWithinOneOverSqrtFanIn()
    {
        var lin = new Linear(100, 50, generator: new Generator(1));
        float bound = 1f / MathF.Sqrt(100);
        Assert.All(lin.Weight.ToArray(), v => Assert.InRange(v, -bound, bound));
        Assert.All(lin.Bias!.ToArray(), v => Assert.InRange(v, -bound, bound));
    }

    [Fact]
    public void BadShapesGiveClearErrors()
    {
        var lin = new Linear(4, 2);
        var e = Assert.Throws<ArgumentException>(() => lin.Forward(Tensor.Zeros(3, 5)));
        Assert.Contains("[*, 4]", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Linear(0, 2));
    }

    [Fact]
    public void MatchesPyTorchFixture()
    {
        var c = Fixtures.Load("linear", "linear_basic");
        var x = c.Tensors["x"].RequiresGrad_();
        var lin = new Linear(c.Tensors["weight"].Shape[1], c.Tensors["weight"].Shape[0]);
        lin.LoadStateDict(new Dictionary<string, Tensor> { ["weight"] = c.Tensors["weight"], ["bias"] = c.Tensors["bias"] });
        var y = lin.Forward(x);
        Fixtures.AssertClose(c.Tensors["y"], y, 1e-5, 1e-6, "linear forward");
        (y * c.Tensors["dy"]).Sum().Backward();
        Fixtures.AssertClose(c.Tensors["dx"], x.Grad!, 1e-5, 1e-6, "linear dx");
        Fixtures.AssertClose(c.Tensors["dweight"], lin.Weight.Grad!, 1e-5, 1e-5, "linear dweight");
        Fixtures.AssertClose(c.Tensors["dbias"], lin.Bias!.Grad!, 1e-5, 1e-5, "linear dbias");
    }
}
