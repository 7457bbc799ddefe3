using System.Runtime.Intrinsics.X86;
using CnnLab.Kernels;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// The channel-blocked convolution with output channels that do not fill its blocks of 16 (one group): the last block runs
/// with zero weights in its lanes past the outputs, which are neither stored nor summed into dW. Forward pinned against
/// im2col + GEMM bit for bit (the same sums in the same order), dW against it to rounding and the same bits on 1 and 2
/// threads, for 24 outputs (a pair of blocks, the second half padding), 40 (a pair, then a padded block), 12 and 8 (one
/// padded block: runs of 16 pixels at stride 1), stride 2, rows that alias in L1 (512 pixels), small planes whose weight
/// gradient runs several images at once, and one output channel.
/// </summary>
public class ChannelBlockedPaddedTests
{
    public static TheoryData<Conv2dGeometry> Shapes => new()
    {
        new Conv2dGeometry(3, 24, 20, 28, 24, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1),   // 10x14 pixels, a pair with 8 lanes of padding
        new Conv2dGeometry(2, 5, 9, 10, 40, 3, 3, PH: 1, PW: 1),                  // a pair of 32, then 8 of a block of 16
        new Conv2dGeometry(2, 3, 5, 41, 12, 3, 3, PH: 1, PW: 1),                  // rows of 41: runs of 16 pixels in one block
        new Conv2dGeometry(2, 5, 9, 40, 12, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1),    // stride 2, rows of 20: runs two floats apart
        new Conv2dGeometry(2, 3, 64, 8, 8, 3, 3, PH: 1, PW: 1),                   // 512 pixels (rows that alias), 8 outputs
        new Conv2dGeometry(9, 6, 7, 7, 24, 3, 3, PH: 1, PW: 1),                   // 7x7: dW by runs of images
        new Conv2dGeometry(3, 7, 11, 13, 1, 5, 5, SH: 2, SW: 2, PH: 2, PW: 2),    // one output channel
        new Conv2dGeometry(2, 16, 12, 12, 20, 1, 1, SH: 2, SW: 2),                // 1x1, stride 2
    };

    private static float[] Values(int n, long seed)
    {
        var r = new Generator(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)r.NextGaussian();
        return v;
    }

    private static float[] Forward(in Conv2dGeometry g, float[] x, float[] w, float[] b, bool hasBias, bool relu, ConvAlgorithm algorithm,
        int threads)
    {
        var y = new float[g.N * g.OC * g.ColCols + 40];
        y.AsSpan(g.N * g.OC * g.ColCols).Fill(1234.5f);
        using (ThreadCount.Use(threads)) Conv2dKernel.Forward(g, x, w, b, hasBias, y, relu, algorithm: algorithm);
        return y;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Forward_with_padded_lanes_is_the_im2col_path_bit_for_bit(Conv2dGeometry g)
    {
        if (!Avx512F.IsSupported) return;
        Assert.False(ChannelBlockedConv.FillsBlocks(g));
        Assert.True(ConvPlanner.CanRun(ConvAlgorithm.ChannelBlocked, g));
        var x = Values(g.N * g.C * g.H * g.W, 1);
        var w = Values(g.OC * g.ColRows, 2);
        var b = Values(g.OC, 3);
        foreach (var (hasBias, relu) in new[] { (true, true), (false, false) })
        {
            var expected = Forward(g, x, w, b, hasBias, relu, ConvAlgorithm.Im2ColGemm, threads: 1);
            foreach (int threads in new[] { 1, 2 })
            {
                var y = Forward(g, x, w, b, hasBias, relu, ConvAlgorithm.ChannelBlocked, threads);
                Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), y.Select(BitConverter.SingleToInt32Bits));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Weight_gradient_with_padded_lanes_matches_the_im2col_path_and_not_the_thread_count(Conv2dGeometry g)
    {
        if (!Avx512F.IsSupported) return;
        var x = Values(g.N * g.C * g.H * g.W, 11);
        var w = Values(g.OC * g.ColRows, 12);
        var dy = Values(g.N * g.OC * g.ColCols, 13);
        var start = Values(g.OC * g.ColRows, 14);
        float[] Dw(ConvAlgorithm algorithm, int threads)
        {
            var dw = (float[])start.Clone();
            using (ThreadCount.Use(threads)) Conv2dKernel.Backward(g, x, w, dy, default, dw, default, algorithm: algorithm);
            return dw;
        }
        var expected = Dw(ConvAlgorithm.Im2ColGemm, 1);
        var one = Dw(ConvAlgorithm.ChannelBlocked, 1);
        Assert.Equal(one, Dw(ConvAlgorithm.ChannelBlocked, 2));
        float scale = expected.Max(MathF.Abs);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], one[i], 1e-5f * scale);
        var reference = (float[])start.Clone();
        Conv2dReference.Backward(g, x, w, dy, default, reference, default);
        for (int i = 0; i < reference.Length; i++) Assert.Equal(reference[i], one[i], 1e-5f * scale);
    }

    [Theory]
    [InlineData(3, 20, 9, 10, 16)]
    [InlineData(2, 17, 5, 7, 48)]
    public void A_pointwise_weight_gradient_in_whole_blocks_matches_the_im2col_path(int n, int c, int h, int w, int oc)
    {
        var g = new Conv2dGeometry(n, c, h, w, oc, 1, 1);
        Assert.Equal(Avx512F.IsSupported ? ConvAlgorithm.ChannelBlocked : ConvAlgorithm.Im2ColGemm, ConvPlanner.Plan(g).WeightGradient);
        Weight_gradient_with_padded_lanes_matches_the_im2col_path_and_not_the_thread_count(g);
    }

    [Fact]
    public void The_planner_takes_padded_blocks_at_a_stride_above_1_and_for_dW_where_im2col_was_its_choice()
    {
        if (!Avx512F.IsSupported) return;
        var (blocked, im2col) = (ConvAlgorithm.ChannelBlocked, ConvAlgorithm.Im2ColGemm);
        // 24 outputs at stride 2: the output rows forward (OutputRowConvTests), the padded blocks' dW.
        var strided = ConvPlanner.Plan(new Conv2dGeometry(128, 24, 40, 56, 24, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1));
        Assert.Equal((ConvAlgorithm.OutputRows, blocked), (strided.Forward, strided.WeightGradient));
        var fewOutputs = ConvPlanner.Plan(new Conv2dGeometry(128, 24, 40, 56, 4, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1));
        Assert.Equal((blocked, blocked), (fewOutputs.Forward, fewOutputs.WeightGradient));
        // Stride 1: im2col's forward with few taps, the padded dW (1x1 and 7x7 alike).
        var fewTaps = ConvPlanner.Plan(new Conv2dGeometry(128, 3, 20, 20, 24, 5, 5, PH: 2, PW: 2));
        Assert.Equal((im2col, blocked), (fewTaps.Forward, fewTaps.WeightGradient));
        var pointwise = ConvPlanner.Plan(new Conv2dGeometry(128, 16, 14, 14, 24, 1, 1));
        Assert.Equal((im2col, blocked), (pointwise.Forward, pointwise.WeightGradient));
        // Whole blocks of 16 outputs: a pointwise dW from 16 input channels, not from 8.
        Assert.Equal(blocked, ConvPlanner.Plan(new Conv2dGeometry(128, 64, 32, 32, 16, 1, 1)).WeightGradient);
        Assert.Equal(im2col, ConvPlanner.Plan(new Conv2dGeometry(128, 8, 32, 32, 16, 1, 1)).WeightGradient);
        // Winograd keeps its shapes; one input channel keeps im2col's dot products for dW (its forward: output rows); groups of
        // 12 cannot run it (output rows do, faster than im2col: bench/RESULTS.md).
        Assert.Equal(new ConvPlan(ConvAlgorithm.Winograd4x4, ConvAlgorithm.Winograd4x4, ConvAlgorithm.Winograd4x4),
            ConvPlanner.Plan(new Conv2dGeometry(128, 24, 28, 28, 40, 3, 3, PH: 1, PW: 1)));
        var oneInput = ConvPlanner.Plan(new Conv2dGeometry(128, 1, 40, 56, 24, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1));
        Assert.Equal((ConvAlgorithm.OutputRows, im2col), (oneInput.Forward, oneInput.WeightGradient));
        var grouped = new Conv2dGeometry(128, 24, 40, 56, 24, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1, G: 2);
        Assert.False(ConvPlanner.CanRun(blocked, grouped));
        Assert.Equal(ConvAlgorithm.OutputRows, ConvPlanner.Plan(grouped).Forward);
    }
}
