using CnnLab.Nn;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

public class ActivationTests
{
    private const string Script = "tools/reference/make_fixtures.py";

    public static TheoryData<string> FixtureOps() => new()
    {
        "relu", "leaky_relu", "leaky_relu_02", "sigmoid", "tanh", "gelu", "elu", "elu_05", "softmax", "log_softmax", "softmax_dim0",
    };

    private static Module ModuleFor(string op) => op switch
    {
        "relu" => new ReLU(),
        "leaky_relu" => new LeakyReLU(),
        "leaky_relu_02" => new LeakyReLU(0.2f),
        "sigmoid" => new Sigmoid(),
        "tanh" => new Tanh(),
        "gelu" => new GELU(),
        "elu" => new ELU(),
        "elu_05" => new ELU(0.5f),
        "softmax" => new Softmax(1),
        "log_softmax" => new LogSoftmax(1),
        "softmax_dim0" => new Softmax(0),
        _ => throw new ArgumentException(op),
    };

    // Tolerance: 1e-5 relative + 1e-6 absolute; these are single transcendental calls per element,
    // where float32 results of two libraries differ by a few ulps (GELU's erfc fit: ~1e-7 relative).
    [Theory]
    [MemberData(nameof(FixtureOps))]
    public void MatchesPyTorch(string op)
    {
        var c = Fixtures.Load("activations", op);
        var x = c.Tensors["x"].RequiresGrad_();
        var y = ModuleFor(op).Forward(x);
        Fixtures.AssertClose(c.Tensors["y"], y, 1e-5, 1e-6, op + " forward", Script);
        (y * c.Tensors["dy"]).Sum().Backward();
        Fixtures.AssertClose(c.Tensors["dx"], x.Grad!, 1e-5, 1e-6, op + " backward", Script);
    }

    [Fact]
    public void GradCheckAwayFromKinks()
    {
        // Inputs with |x| >= 0.1 so that x ± h (h = 0.01) never crosses ReLU's kink at 0.
        var g = new Generator(11);
        var x = Tensor.Randn(g, 3, 7);
        for (int i = 0; i < x.Numel; i++) x.Data[i] = x.Data[i] >= 0 ? x.Data[i] + 0.1f : x.Data[i] - 0.1f;
        GradCheck.Check(t => Functional.Relu(t[0]), [x.Clone()], what: "relu");
        GradCheck.Check(t => Functional.LeakyRelu(t[0], 0.1f), [x.Clone()], what: "leaky relu");
        GradCheck.Check(t => Functional.Sigmoid(t[0]), [x.Clone()], what: "sigmoid");
        GradCheck.Check(t => Functional.Tanh(t[0]), [x.Clone()], what: "tanh");
        GradCheck.Check(t => Functional.Gelu(t[0]), [x.Clone()], what: "gelu");
        GradCheck.Check(t => Functional.Elu(t[0], 0.7f), [x.Clone()], what: "elu");
        GradCheck.Check(t => Functional.Softmax(t[0], 1), [x.Clone()], what: "softmax");
        GradCheck.Check(t => Functional.LogSoftmax(t[0], 0), [x.Clone()], what: "log softmax");
        GradCheck.Check(t => Functional.Softmax(t[0], 1), [Tensor.Randn(g, 2, 3, 4)], what: "softmax middle axis");
    }

    [Fact]
    public void HandComputedValues()
    {
        var x = Tensor.FromArray([-2, 0, 3]);
        Assert.Equal([0f, 0f, 3f], Functional.Relu(x).ToArray());
        Assert.Equal([-0.02f, 0f, 3f], Functional.LeakyRelu(x).ToArray());
        Assert.Equal(0.5f, Functional.Sigmoid(Tensor.Scalar(0)).Item());
        // softmax([0, ln 3]) = [1/4, 3/4]
        var s = Functional.Softmax(Tensor.FromArray([0f, MathF.Log(3)], 1, 2));
        Assert.Equal(0.25f, s[0, 0], 6);
        Assert.Equal(0.75f, s[0, 1], 6);
        // stability: huge logits do not overflow
        Assert.All(Functional.Softmax(Tensor.FromArray([1000f, 1000f], 1, 2)).ToArray(), v => Assert.Equal(0.5f, v));
        Assert.True(float.IsNaN(Functional.Relu(Tensor.FromArray([float.NaN])).Item()));
        // tanh is exact at 0 and accurate near it (the vectorized formula cancels there)
        var small = new float[] { 0f, 1e-7f, -3e-4f, 0.02f, 0.04f, -0.12f, 0.124f };
        var t = Functional.Tanh(Tensor.FromArray(small)).ToArray();
        Assert.Equal(0f, t[0]);
        for (int i = 1; i < small.Length; i++)
            Assert.True(Math.Abs(t[i] - Math.Tanh(small[i])) <= 2e-7 * Math.Abs(Math.Tanh(small[i])) + 1e-9, $"tanh({small[i]}) = {t[i]}");
    }

    [Fact]
    public void FlattenKeepsBatch()
    {
        var y = new Flatten().Forward(Tensor.Zeros(2, 3, 4, 5));
        Assert.Equal([2, 60], y.Shape);
        Assert.Equal("Flatten(start_dim=1, end_dim=-1)", new Flatten().ToString());
    }
}
