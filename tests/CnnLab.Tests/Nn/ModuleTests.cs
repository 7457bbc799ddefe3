using CnnLab.Nn;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

public class ModuleTests
{
    private static Sequential TwoLayer() => new(new Linear(4, 3, generator: new Generator(1)), new Linear(3, 2, generator: new Generator(2)));

    [Fact]
    public void ParameterNamesMatchPyTorchStateDictKeys()
    {
        var m = TwoLayer();
        Assert.Equal(["0.weight", "0.bias", "1.weight", "1.bias"], m.NamedParameters().Select(p => p.Name));
        Assert.Equal(["0.weight", "0.bias", "1.weight", "1.bias"], m.StateDict().Keys);
        Assert.All(m.Parameters(), p => Assert.True(p.RequiresGrad));
    }

    [Fact]
    public void StateDictRoundTripAndErrors()
    {
        var a = TwoLayer();
        var b = new Sequential(new Linear(4, 3, generator: new Generator(9)), new Linear(3, 2, generator: new Generator(8)));
        var state = a.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
        b.LoadStateDict(state);
        var x = Tensor.Randn(new Generator(3), 5, 4);
        Assert.Equal(a.Forward(x).ToArray(), b.Forward(x).ToArray());

        state.Remove("1.bias");
        state["extra"] = Tensor.Zeros(1);
        var e = Assert.Throws<ArgumentException>(() => b.LoadStateDict(state));
        Assert.Contains("missing keys: 1.bias", e.Message);
        Assert.Contains("unexpected keys: extra", e.Message);
        var wrong = a.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
        wrong["0.weight"] = Tensor.Zeros(3, 5);
        Assert.Contains("size mismatch for 0.weight", Assert.Throws<ArgumentException>(() => b.LoadStateDict(wrong)).Message);
    }

    [Fact]
    public void ForwardHooksFireOnEveryCallAndCanBeRemoved()
    {
        var m = TwoLayer();
        var seen = new List<int[]>();
        var handle = m[0].RegisterForwardHook((mod, input, output) => seen.Add(output.Shape));
        m.Forward(Tensor.Zeros(2, 4));
        m.Forward(Tensor.Zeros(7, 4));
        Assert.Equal([[2, 3], [7, 3]], seen);
        handle.Dispose();
        m.Forward(Tensor.Zeros(1, 4));
        Assert.Equal(2, seen.Count);
        using (m[1].RegisterForwardHook((mod, i, o) => o * 0f))
            Assert.All(m.Forward(Tensor.Ones(1, 4)).ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void TrainEvalPropagatesAndZeroGradClears()
    {
        var m = TwoLayer();
        m.Eval();
        Assert.All(m.NamedModules(), x => Assert.False(x.Module.Training));
        m.Train();
        Assert.All(m.NamedModules(), x => Assert.True(x.Module.Training));
        m.Forward(Tensor.Ones(2, 4)).Sum().Backward();
        Assert.All(m.Parameters(), p => Assert.NotNull(p.Grad));
        m.ZeroGrad();
        Assert.All(m.Parameters(), p => Assert.Null(p.Grad));
    }

    [Fact]
    public void ResidualAddsIdentity()
    {
        var lin = new Linear(3, 3, generator: new Generator(1));
        var block = new Residual(lin);
        var x = Tensor.Randn(new Generator(2), 2, 3);
        var expected = (lin.Forward(x) + x).ToArray();
        Assert.Equal(expected, block.Forward(x).ToArray());
        Assert.Equal(["body.weight", "body.bias"], block.NamedParameters().Select(p => p.Name));
        Assert.Throws<ArgumentException>(() => new Residual(new Linear(3, 4)).Forward(x));
    }

    [Fact]
    public void ToStringLooksLikePyTorch()
    {
        var text = TwoLayer().ToString();
        Assert.Contains("(0): Linear(in_features=4, out_features=3, bias=True)", text);
    }
}
