using CnnLab.Kernels;
using CnnLab.Nn;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>Prepared convolution weights kept between inference calls, and never used stale.</summary>
public class ConvPlanCacheTests
{
    [Theory]
    [InlineData(1, 32, 3, 1, 1)]   // one input channel: weights copied for the direct kernel
    [InlineData(16, 16, 3, 1, 1)]  // Winograd
    [InlineData(3, 8, 5, 2, 2)]    // im2col + GEMM
    [InlineData(8, 8, 3, 1, 8)]    // depthwise
    public void A_plan_is_reused_for_any_batch_until_a_weight_changes(int c, int oc, int k, int stride, int groups)
    {
        var w = Tensor.Randn(new Generator(1), oc, c / groups, k, k);
        var g1 = new Conv2dGeometry(1, c, 12, 11, oc, k, k, stride, stride, k / 2, k / 2, G: groups);
        var algorithm = ConvPlanner.Plan(g1).Forward;
        var plan = ConvPlanCache.Get(g1, w.Buffer, w.Data, algorithm);
        Assert.Same(plan, ConvPlanCache.Get(g1 with { N = 7 }, w.Buffer, w.Data, algorithm));
        Assert.NotSame(plan, ConvPlanCache.Get(g1 with { H = 13 }, w.Buffer, w.Data, algorithm));
        var again = ConvPlanCache.Get(g1, w.Buffer, w.Data, algorithm);
        if (algorithm != ConvAlgorithm.Im2ColGemm)   // another algorithm, another plan
            Assert.NotSame(again, ConvPlanCache.Get(g1, w.Buffer, w.Data, ConvAlgorithm.Im2ColGemm));
        again = ConvPlanCache.Get(g1, w.Buffer, w.Data, algorithm);
        w.Data[w.Numel - 1] += 1f;   // written in place, as an optimizer step does
        Assert.NotSame(again, ConvPlanCache.Get(g1, w.Buffer, w.Data, algorithm));
    }

    [Fact]
    public void A_frozen_arrays_plan_is_reused_without_comparing_its_values()
    {
        // Frozen: the library promises never to write the array again (folded batch norm weights), so not even a write is
        // looked for; the same write to an ordinary array makes a new plan.
        var g = new Conv2dGeometry(1, 16, 10, 10, 16, 3, 3, PH: 1, PW: 1);
        var algorithm = ConvPlanner.Plan(g).Forward;
        var frozen = Tensor.Randn(new Generator(4), 16, 16, 3, 3);
        var plain = Tensor.Randn(new Generator(4), 16, 16, 3, 3);
        ConvPlanCache.Freeze(frozen.Buffer);
        var frozenPlan = ConvPlanCache.Get(g, frozen.Buffer, frozen.Data, algorithm);
        var plainPlan = ConvPlanCache.Get(g, plain.Buffer, plain.Data, algorithm);
        frozen.Data[0] += 1f;
        plain.Data[0] += 1f;
        Assert.Same(frozenPlan, ConvPlanCache.Get(g, frozen.Buffer, frozen.Data, algorithm));
        Assert.NotSame(plainPlan, ConvPlanCache.Get(g, plain.Buffer, plain.Data, algorithm));
    }

    [Fact]
    public void Inference_after_the_weights_change_in_place_uses_the_new_weights()
    {
        var gen = new Generator(2);
        var conv = new Conv2d(16, 16, 3, padding: 1, generator: gen);
        var x = Tensor.Randn(gen, 2, 16, 9, 10);
        var g = new Conv2dGeometry(2, 16, 9, 10, 16, 3, 3, PH: 1, PW: 1);
        float[] Reference()
        {
            var y = new float[2 * 16 * 9 * 10];
            Conv2dReference.Forward(g, x.Data, conv.Weight.Data, conv.Bias!.Data, true, y);
            return y;
        }
        for (int round = 0; round < 3; round++)
        {
            Tensor y;
            using (Autograd.NoGrad()) y = conv.Forward(x);
            Conv2dKernelTests.AssertClose(Reference(), y.ToArray(), $"round {round}");
            conv.Weight.Data[round * 7] *= -2f;
        }
    }
}
