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
        var plan = ConvPlanCache.Get(g1, new CachedWeights(w.Buffer, 0), w.Data, algorithm);
        Assert.Same(plan, ConvPlanCache.Get(g1 with { N = 7 }, new CachedWeights(w.Buffer, 0), w.Data, algorithm));
        Assert.NotSame(plan, ConvPlanCache.Get(g1 with { H = 13 }, new CachedWeights(w.Buffer, 0), w.Data, algorithm));
        var again = ConvPlanCache.Get(g1, new CachedWeights(w.Buffer, 0), w.Data, algorithm);
        if (algorithm != ConvAlgorithm.Im2ColGemm)
        {
            // Another algorithm (a single image's and a batch's may differ), another plan, and both are kept.
            var other = ConvPlanCache.Get(g1, new CachedWeights(w.Buffer, 0), w.Data, ConvAlgorithm.Im2ColGemm);
            Assert.NotSame(again, other);
            Assert.Same(again, ConvPlanCache.Get(g1 with { N = 3 }, new CachedWeights(w.Buffer, 0), w.Data, algorithm));
            Assert.Same(other, ConvPlanCache.Get(g1, new CachedWeights(w.Buffer, 0), w.Data, ConvAlgorithm.Im2ColGemm));
        }
        again = ConvPlanCache.Get(g1, new CachedWeights(w.Buffer, 0), w.Data, algorithm);
        w.Data[w.Numel - 1] += 1f;   // written in place, as an optimizer step does
        Assert.NotSame(again, ConvPlanCache.Get(g1, new CachedWeights(w.Buffer, 0), w.Data, algorithm));
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
        var frozenPlan = ConvPlanCache.Get(g, new CachedWeights(frozen.Buffer, 0), frozen.Data, algorithm);
        var plainPlan = ConvPlanCache.Get(g, new CachedWeights(plain.Buffer, 0), plain.Data, algorithm);
        frozen.Data[0] += 1f;
        plain.Data[0] += 1f;
        Assert.Same(frozenPlan, ConvPlanCache.Get(g, new CachedWeights(frozen.Buffer, 0), frozen.Data, algorithm));
        Assert.NotSame(plainPlan, ConvPlanCache.Get(g, new CachedWeights(plain.Buffer, 0), plain.Data, algorithm));
    }

    [Theory]
    [InlineData(3, 14)]   // F(4x4, 3x3) for one image in inference, F(2x2, 3x3) or a direct kernel in training
    [InlineData(5, 12)]   // F(2x2, 5x5)
    [InlineData(3, 8, 32, ConvAlgorithm.Winograd)]   // F(2x2, 3x3) on 8x8 in inference, a direct kernel in training
    public void One_image_in_inference_matches_the_reference_and_a_training_forward(int k, int side, int channels = 16,
        ConvAlgorithm kept = ConvAlgorithm.Auto)
    {
        var gen = new Generator(5);
        var conv = new Conv2d(channels, channels, k, padding: k / 2, generator: gen);
        var x = Tensor.Randn(gen, 1, channels, side, side);
        var g = new Conv2dGeometry(1, channels, side, side, channels, k, k, PH: k / 2, PW: k / 2);
        var expected = new float[channels * side * side];
        Conv2dReference.Forward(g, x.Data, conv.Weight.Data, conv.Bias!.Data, true, expected);
        var trained = conv.Forward(x).Data.ToArray();
        float[] inferred;
        using (Autograd.NoGrad()) inferred = conv.Forward(x).Data.ToArray();
        float largest = expected.Max(Math.Abs);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(inferred[i] - expected[i]) <= 2e-5f * largest, $"inference [{i}]: {inferred[i]}, not {expected[i]}");
            Assert.True(Math.Abs(trained[i] - expected[i]) <= 2e-5f * largest, $"training [{i}]: {trained[i]}, not {expected[i]}");
        }
        if (System.Runtime.Intrinsics.X86.Avx512F.IsSupported)
        {
            var expectedKept = kept != ConvAlgorithm.Auto ? kept : k == 3 ? ConvAlgorithm.Winograd4x4 : ConvAlgorithm.Winograd5x5;
            Assert.Equal(expectedKept, ConvPlanner.Plan(g, weightsKept: true).Forward);
            Assert.NotEqual(expectedKept, ConvPlanner.Plan(g).Forward);
        }
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

    [Theory]
    [InlineData(16, 10, 12)]   // one image per Winograd block
    [InlineData(16, 7, 7)]     // small planes: several images per block
    [InlineData(32, 14, 14)]
    [InlineData(16, 9, 45)]    // rows wider than the transform's registers: split through its scratch
    public void A_cached_Winograd_plan_reuses_its_buffers_with_the_uncached_bits(int c, int h, int w)
    {
        if (!System.Runtime.Intrinsics.X86.Avx512F.IsSupported) return;   // the tuned Winograd's kept buffers
        // The cached plan keeps its buffers from call to call (V's padding columns and the transform's scratch border are
        // not cleared again): batches of changing size, one with NaN and ±∞, must give the bits of a plan made for the call.
        var gen = new Generator(11);
        var weights = Tensor.Randn(gen, c, c, 3, 3);
        var bias = Tensor.Randn(gen, c);
        foreach (var (n, special) in new[] { (5, false), (1, true), (3, false), (1, false), (4, true) })
        {
            var g = new Conv2dGeometry(n, c, h, w, c, 3, 3, PH: 1, PW: 1);
            var x = Tensor.Randn(gen, n, c, h, w).ToArray();
            if (special)
                for (int i = 0; i < x.Length; i += 97)
                    x[i] = (i / 97 % 3) switch { 0 => float.NaN, 1 => float.PositiveInfinity, _ => float.NegativeInfinity };
            float[] cached = new float[n * c * h * w], fresh = new float[cached.Length];
            foreach (int threads in new[] { 1, 2 })
                using (ThreadCount.Use(threads))
                {
                    Conv2dKernel.ForwardCached(g, x, weights.Data, bias.Data, true, cached, true, default, default,
                        new CachedWeights(weights.Buffer, 0), ConvAlgorithm.Winograd);
                    Conv2dKernel.ForwardCached(g, x, weights.Data, bias.Data, true, fresh, true, default, default, weightsKey: null,
                        ConvAlgorithm.Winograd);
                    Assert.True(fresh.Select(BitConverter.SingleToInt32Bits).SequenceEqual(cached.Select(BitConverter.SingleToInt32Bits)),
                        $"batch {n}, {threads} thread(s): the cached plan's output differs");
                }
        }
    }
}
