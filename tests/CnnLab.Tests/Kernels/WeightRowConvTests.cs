using System.Runtime.Intrinsics.X86;
using CnnLab.Kernels;
using CnnLab.Nn;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// The weight rows' dot products (<see cref="WeightRowConv"/>), which read the weights where they lie: against the reference on
/// the small output planes the planner gives them (and odd shapes), the same bits for one thread and two (a single image's
/// output channels are split among threads), nothing written past y, and inference that sees weights written in place
/// without a plan kept for them.
/// </summary>
public class WeightRowConvTests
{
    public static TheoryData<Conv2dGeometry> Shapes => new(
        new Conv2dGeometry(1, 512, 2, 2, 130, 3, 3, PH: 1, PW: 1),               // 2x2, 33 blocks of 4 outputs: split among threads
        new Conv2dGeometry(1, 96, 4, 4, 37, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1),    // 4x4 → 2x2 at stride 2, a last block of 1 output
        new Conv2dGeometry(1, 64, 2, 2, 48, 2, 2, SH: 2, SW: 2),                 // 1x1 output: three empty pixel rows
        new Conv2dGeometry(1, 3, 7, 7, 19, 7, 7),                                 // 3 channels, 7x7 on 7x7: rows of 147, a masked tail
        new Conv2dGeometry(2, 20, 3, 3, 16, 3, 3, PH: 1, PW: 1, DH: 2, DW: 2, G: 2), // dilated, two groups, two images
        new Conv2dGeometry(4, 33, 5, 5, 9, 5, 5),                                 // four images of one pixel, 5 taps a row
        new Conv2dGeometry(1, 16, 3, 5, 8, 1, 1, SH: 2, SW: 3),                   // 1x1 kernel at strides 2 and 3
        new Conv2dGeometry(1, 12, 6, 6, 20, 9, 9, PH: 2, PW: 2, SH: 3, SW: 3),    // 9 taps a row: a vector of 16 copied
        new Conv2dGeometry(1, 4, 1, 20, 6, 1, 17));                               // 17 taps a row: copied one by one

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Matches_the_reference_with_the_same_bits_for_one_thread_and_two(Conv2dGeometry g)
    {
        if (!Avx512F.IsSupported) return;   // it needs AVX-512, and the planner never takes it without
        if (g.C == 512) Assert.True(ThreadSplit.Pays((g.OC + 3) / 4, 4L * g.ColRows * 4, threads: 2, inParallelBody: false, out _));
        var gen = new Generator(g.C * 7 + g.OC);
        float[] x = Values(gen, g.N * g.C * g.H * g.W), w = Values(gen, g.OC * g.ColRows), b = Values(gen, g.OC);
        int outs = g.N * g.OC * g.ColCols;
        var expected = new float[outs];
        Conv2dReference.Forward(g, x, w, b, true, expected);
        var relu = expected.Select(v => Math.Max(v, 0f)).ToArray();
        int[]? first = null;
        foreach (int threads in new[] { 1, 2 })
            foreach (bool rectify in new[] { false, true })
            {
                var y = new float[outs + 32];
                y.AsSpan(outs).Fill(1234.5f);
                using (ThreadCount.Use(threads))
                    Conv2dKernel.Forward(g, x, w, b, true, y.AsSpan(0, outs), rectify, algorithm: ConvAlgorithm.WeightRows);
                Conv2dKernelTests.AssertClose(rectify ? relu : expected, y[..outs], $"{g}, {threads} thread(s), ReLU {rectify}");
                Assert.All(y[outs..], v => Assert.Equal(1234.5f, v));
                if (rectify) continue;
                var bits = y[..outs].Select(BitConverter.SingleToInt32Bits).ToArray();
                if (first is null) first = bits;
                else Assert.Equal(first, bits);
            }
        var unbiased = new float[outs];
        Conv2dReference.Forward(g, x, w, b, false, unbiased);
        var plain = new float[outs];
        Conv2dKernel.Forward(g, x, w, b, false, plain, algorithm: ConvAlgorithm.WeightRows);
        Conv2dKernelTests.AssertClose(unbiased, plain, $"{g} without bias");
    }

    [Fact]
    public void The_planner_takes_it_where_each_weight_meets_at_most_four_pixels()
    {
        if (!Avx512F.IsSupported) return;
        var rows = ConvAlgorithm.WeightRows;
        Assert.NotEqual(rows, ConvPlanner.Plan(new Conv2dGeometry(1, 1, 2, 2, 32, 3, 3, PH: 1, PW: 1)).Forward);   // one input channel
        Assert.Equal(rows, ConvPlanner.Plan(new Conv2dGeometry(1, 384, 2, 2, 384, 3, 3, PH: 1, PW: 1)).Forward);
        Assert.Equal(rows, ConvPlanner.Plan(new Conv2dGeometry(1, 256, 4, 4, 384, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1), weightsKept: true).Forward);
        Assert.Equal(rows, ConvPlanner.Plan(new Conv2dGeometry(4, 512, 2, 2, 512, 2, 2, SH: 2, SW: 2)).Forward);   // 4 images of 1 pixel
        Assert.NotEqual(rows, ConvPlanner.Plan(new Conv2dGeometry(2, 384, 2, 2, 384, 3, 3, PH: 1, PW: 1)).Forward);
        Assert.NotEqual(rows, ConvPlanner.Plan(new Conv2dGeometry(1, 256, 4, 4, 256, 3, 3, PH: 1, PW: 1), weightsKept: true).Forward);
        // Forward only: dx and dW keep their own choices.
        var plan = ConvPlanner.Plan(new Conv2dGeometry(1, 64, 2, 2, 64, 3, 3, PH: 1, PW: 1));
        Assert.NotEqual(rows, plan.InputGradient);
        Assert.NotEqual(rows, plan.WeightGradient);
        Assert.Equal(new ConvPlan(rows, ConvAlgorithm.Im2ColGemm, ConvAlgorithm.Im2ColGemm),
            ConvPlanner.Plan(new Conv2dGeometry(2, 8, 9, 9, 16, 3, 3), rows));
    }

    [Fact]
    public void Inference_reads_the_weights_as_they_are_on_every_call()
    {
        // Nothing is kept for these layers, so weights written in place between calls, by any path, are what the next call
        // uses, and a frozen model's layer gives the same bits as an unfrozen one.
        if (!Avx512F.IsSupported) return;
        var gen = new Generator(3);
        var conv = new Conv2d(64, 32, 3, padding: 1, generator: gen);
        var x = Tensor.Randn(gen, 1, 64, 2, 2);
        var g = new Conv2dGeometry(1, 64, 2, 2, 32, 3, 3, PH: 1, PW: 1);
        Assert.Equal(ConvAlgorithm.WeightRows, ConvPlanner.Plan(g, weightsKept: true).Forward);
        conv.Eval();
        for (int round = 0; round < 3; round++)
        {
            var expected = new float[32 * 4];
            Conv2dReference.Forward(g, x.Data, conv.Weight.Data, conv.Bias!.Data, true, expected);
            Tensor y;
            using (Autograd.NoGrad()) y = conv.Forward(x);
            Conv2dKernelTests.AssertClose(expected, y.ToArray(), $"round {round}");
            Assert.False(ConvPlanCache.Keeps(conv.Weight.Buffer), "a plan was kept for weights read in place");
            conv.Weight.Data[round * 11] *= -3f;
        }
        float[] plain, frozen;
        using (Autograd.NoGrad()) plain = conv.Forward(x).ToArray();
        conv.Freeze();
        using (Autograd.NoGrad()) frozen = conv.Forward(x).ToArray();
        Assert.Equal(plain.Select(BitConverter.SingleToInt32Bits), frozen.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void A_relu_and_max_pool_after_it_take_it_too()
    {
        // A VGG-style tail at batch 1: conv on 2x2 → ReLU → 2x2 max pool, fused, against the reference's three steps.
        if (!Avx512F.IsSupported) return;
        var gen = new Generator(9);
        var g = new Conv2dGeometry(1, 48, 2, 2, 24, 3, 3, PH: 1, PW: 1);
        var pool = new Pool2dGeometry(1, 24, 2, 2, 2, 2, 2, 2, 0, 0, 1, 1, false);
        float[] x = Values(gen, 48 * 4), w = Values(gen, 24 * g.ColRows), b = Values(gen, 24);
        var conv = new float[24 * 4];
        Conv2dReference.Forward(g, x, w, b, true, conv);
        var expected = Enumerable.Range(0, 24).Select(o => Math.Max(0f, conv.AsSpan(o * 4, 4).ToArray().Max())).ToArray();
        var (pooled, argmax) = (new float[24], new int[24]);
        Assert.Equal(ConvAlgorithm.WeightRows, ConvPlanner.Plan(g, weightsKept: true).Forward);
        ConvReluMaxPoolKernel.ForwardCached(g, pool, x, w, b, true, pooled, argmax, new CachedWeights(w, 0), ConvAlgorithm.Auto);
        Conv2dKernelTests.AssertClose(expected, pooled, "conv → ReLU → pool");
        for (int o = 0; o < 24; o++)
            if (pooled[o] > 0) Assert.Equal(Array.IndexOf(conv, conv.AsSpan(o * 4, 4).ToArray().Max(), o * 4) - o * 4, argmax[o]);
    }

    private static float[] Values(Generator gen, int n) => Kernels.ConvPlannerTests.Values(gen, n);
}
