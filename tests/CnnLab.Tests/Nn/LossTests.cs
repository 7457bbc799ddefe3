using CnnLab.Nn;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

public class LossTests
{
    private const string Script = "tools/reference/make_fixtures.py";

    private static int[] Targets(Tensor t) => t.ToArray().Select(v => (int)v).ToArray();

    [Theory]
    [InlineData("cross_entropy", 0f)]
    [InlineData("cross_entropy_smooth", 0.1f)]
    public void CrossEntropyMatchesPyTorch(string name, float smoothing)
    {
        var c = Fixtures.Load("losses", name);
        var logits = c.Tensors["logits"].RequiresGrad_();
        var loss = new CrossEntropyLoss(smoothing).Forward(logits, Targets(c.Tensors["target"]));
        Assert.Equal(c.Tensors["loss"].Data[0], loss.Item(), 5);
        loss.Backward();
        Fixtures.AssertClose(c.Tensors["dlogits"], logits.Grad!, 1e-5, 1e-7, name + " dlogits", Script);
    }

    [Fact]
    public void NllAndMseMatchPyTorch()
    {
        var c = Fixtures.Load("losses", "nll");
        var logp = c.Tensors["logp"].RequiresGrad_();
        var loss = new NLLLoss().Forward(logp, Targets(c.Tensors["target"]));
        Assert.Equal(c.Tensors["loss"].Data[0], loss.Item(), 5);
        loss.Backward();
        Fixtures.AssertClose(c.Tensors["dlogp"], logp.Grad!, 1e-6, 1e-7, "nll", Script);

        var m = Fixtures.Load("losses", "mse");
        var a = m.Tensors["input"].RequiresGrad_();
        var b = m.Tensors["target"].RequiresGrad_();
        var l = new MSELoss().Forward(a, b);
        Assert.Equal(m.Tensors["loss"].Data[0], l.Item(), 5);
        l.Backward();
        Fixtures.AssertClose(m.Tensors["dinput"], a.Grad!, 1e-5, 1e-7, "mse dinput", Script);
        Fixtures.AssertClose(m.Tensors["dtarget"], b.Grad!, 1e-5, 1e-7, "mse dtarget", Script);
    }

    [Fact]
    public void CrossEntropyByHandAndGradCheck()
    {
        // Uniform logits over 4 classes: loss = ln 4 whatever the target.
        Assert.Equal(MathF.Log(4), Functional.CrossEntropy(Tensor.Zeros(2, 4), [1, 3]).Item(), 6);
        var g = new Generator(9);
        GradCheck.Check(t => Functional.CrossEntropy(t[0], [0, 2, 1]), [Tensor.Randn(g, 3, 4)], what: "cross entropy");
        GradCheck.Check(t => Functional.CrossEntropy(t[0], [0, 2, 1], 0.2f), [Tensor.Randn(g, 3, 4)], what: "cross entropy smoothing");
        GradCheck.Check(t => Functional.NllLoss(t[0], [3, 0]), [Tensor.Randn(g, 2, 4)], what: "nll");
        GradCheck.Check(t => Functional.MseLoss(t[0], t[1]), [Tensor.Randn(g, 2, 4), Tensor.Randn(g, 2, 4)], what: "mse");
        // huge logits stay finite
        Assert.True(float.IsFinite(Functional.CrossEntropy(Tensor.FromArray([1e4f, -1e4f], 1, 2), [1]).Item()));
    }

    [Fact]
    public void BadTargetsAreClearErrors()
    {
        var e = Assert.Throws<ArgumentException>(() => Functional.CrossEntropy(Tensor.Zeros(2, 3), [0, 3]));
        Assert.Contains("Target 3 is out of bounds", e.Message);
        Assert.Throws<ArgumentException>(() => Functional.CrossEntropy(Tensor.Zeros(2, 3), [0]));
        Assert.Throws<ArgumentException>(() => Functional.CrossEntropy(Tensor.Zeros(6), [0]));
    }
}
