using CnnLab.Nn;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

public class AutogradTests
{
    [Fact]
    public void ChainRuleOnAHandComputedExample()
    {
        // y = (a·b + a)²,  a = 2, b = 3  →  y = 64;  dy/da = 2(ab + a)(b + 1) = 2·8·4 = 64;  dy/db = 2(ab + a)·a = 32
        var a = Tensor.Scalar(2f).RequiresGrad_();
        var b = Tensor.Scalar(3f).RequiresGrad_();
        var y = (a * b + a).Pow(2);
        y.Backward();
        Assert.Equal(64f, y.Item());
        Assert.Equal(64f, a.Grad!.Item());
        Assert.Equal(32f, b.Grad!.Item());
    }

    [Fact]
    public void GradientsAccumulateAcrossUsesAndCalls()
    {
        var x = Tensor.Scalar(3f).RequiresGrad_();
        (x * x + x).Backward(); // d/dx = 2x + 1 = 7
        Assert.Equal(7f, x.Grad!.Item());
        (x * 2f).Backward();    // accumulates 2
        Assert.Equal(9f, x.Grad!.Item());
        x.ZeroGrad();
        Assert.Null(x.Grad);
    }

    [Fact]
    public void A_second_backward_through_a_freed_graph_says_so_and_retainGraph_allows_it()
    {
        var a = Tensor.FromArray([2f, -1f], 2).RequiresGrad_();
        var loss = Functional.Sum(Functional.Mul(a, a));
        loss.Backward(retainGraph: true);
        loss.Backward();  // through the retained graph: the gradient 2a accumulates twice
        Assert.Equal([8f, -4f], a.Grad!.ToArray());
        Assert.True(loss.GradFn!.IsFreed);
        var e = Assert.Throws<InvalidOperationException>(() => loss.Backward());
        Assert.Contains("backward through the graph a second time", e.Message);
        Assert.Contains("retainGraph: true", e.Message);
    }

    [Fact]
    public void Add_hands_its_gradient_to_both_inputs_without_letting_them_share_a_buffer()
    {
        // da = db = dy (no copy, as PyTorch): the leaves' .Grad must still be buffers of their own, and a later step's
        // gradient must accumulate into each separately.
        foreach (bool fused in new[] { false, true })
        {
            var a = Tensor.FromArray([1f, -2f, 3f], 3).RequiresGrad_();
            var b = Tensor.FromArray([0.5f, 0.5f, -4f], 3).RequiresGrad_();
            var weights = Tensor.FromArray([2f, 3f, 4f], 3);
            Tensor Sum() => Functional.Sum(Functional.Mul(fused ? Functional.AddRelu(a, b) : Functional.Add(a, b), weights));
            Sum().Backward();
            a.Grad!.Data[0] = 100f;
            Assert.Equal(fused ? [2f, 0f, 0f] : [2f, 3f, 4f], b.Grad!.ToArray());
            Sum().Backward();
            Assert.Equal(fused ? [102f, 0f, 0f] : [102f, 6f, 8f], a.Grad!.ToArray());
            Assert.Equal(fused ? [4f, 0f, 0f] : [4f, 6f, 8f], b.Grad!.ToArray());
        }
    }

    [Fact]
    public void NoGradScopeRecordsNothingAndNests()
    {
        var x = Tensor.Ones(3).RequiresGrad_();
        using (CnnLab.Tensors.Autograd.NoGrad())
        {
            using (CnnLab.Tensors.Autograd.NoGrad()) { }
            Assert.False(CnnLab.Tensors.Autograd.IsGradEnabled);
            var y = x * 2f;
            Assert.False(y.RequiresGrad);
            Assert.Null(y.GradFn);
        }
        Assert.True(CnnLab.Tensors.Autograd.IsGradEnabled);
        Assert.NotNull((x * 2f).GradFn);
    }

    [Fact]
    public void DetachCutsTheGraphButSharesData()
    {
        var x = Tensor.Ones(2).RequiresGrad_();
        var y = x * 3f;
        var d = y.Detach();
        Assert.False(d.RequiresGrad);
        Assert.True(d.IsLeaf);
        d.Data[0] = 7;
        Assert.Equal(7f, y.Data[0]);
        var z = (d * x).Sum();
        z.Backward();
        Assert.Equal([7f, 3f], x.Grad!.ToArray());
    }

    [Fact]
    public void HooksSeeAndCanReplaceGradients()
    {
        var x = Tensor.FromArray([1, 2]).RequiresGrad_();
        var h = x * 2f;
        Tensor? seen = null;
        h.RegisterHook(g => { seen = g.Clone(); });
        using (h.RegisterHook(g => g * 10f))
        {
            h.Sum().Backward();
        }
        Assert.Equal([1f, 1f], seen!.ToArray());
        Assert.Equal([20f, 20f], x.Grad!.ToArray());
        x.ZeroGrad();
        (x * 2f).Sum().Backward();
        Assert.Equal([2f, 2f], x.Grad!.ToArray());
    }

    [Fact]
    public void DiamondGraphSumsBothPaths()
    {
        // y = (x·2) · (x + 1) at x = 1: dy/dx = 2(x + 1) + 2x = 6
        var x = Tensor.Scalar(1f).RequiresGrad_();
        var y = (x * 2f) * (x + 1f);
        y.Backward();
        Assert.Equal(6f, x.Grad!.Item());
    }

    [Fact]
    public void DeepChainDoesNotOverflowTheStack()
    {
        var x = Tensor.Scalar(1f).RequiresGrad_();
        var y = x;
        for (int i = 0; i < 20_000; i++) y = y + 0f;
        y.Backward();
        Assert.Equal(1f, x.Grad!.Item());
    }

    [Fact]
    public void BackwardNeedsScalarOrGradient()
    {
        var x = Tensor.Ones(3).RequiresGrad_();
        var y = x * 2f;
        Assert.Throws<InvalidOperationException>(() => y.Backward());
        y.Backward(Tensor.FromArray([1, 2, 3]));
        Assert.Equal([2f, 4f, 6f], x.Grad!.ToArray());
        Assert.Throws<InvalidOperationException>(() => Tensor.Ones(1).Backward());
    }

    [Fact]
    public void RetainGradKeepsIntermediateGradient()
    {
        var x = Tensor.FromArray([1, 2]).RequiresGrad_();
        var h = (x * 3f).RetainGrad();
        h.Sum().Backward();
        Assert.Equal([1f, 1f], h.Grad!.ToArray());
    }
}
