using System.Runtime.Intrinsics.X86;
using CnnLab.Kernels;
using CnnLab.Nn;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests.Kernels;

/// <summary>
/// The input gradient of a convolution of stride 2 in x by phase rows (<see cref="StrideTwoRowInputGradient"/>, pinned as
/// <see cref="ConvAlgorithm.OutputRows"/>): the channel-blocked dx's sums in its order, so its bits where that runs too (NaN,
/// infinities and −0 in dy); the reference elsewhere. Shapes: dx rows of 28 (a partial vector), 32 and 70 (two vectors and a
/// part), odd widths (the odd phase one column shorter), phase rows not a multiple of 3, input channels that fill blocks of 8
/// and that do not, groups, dilation, stride 3 in y, 5x5 and 7x7 kernels, no padding, a 1x1 kernel (odd pixels get nothing).
/// </summary>
public class StrideTwoRowInputGradientTests
{
    public static TheoryData<Conv2dGeometry> Shapes => new()
    {
        new Conv2dGeometry(3, 16, 28, 28, 32, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1),     // resnet-mini's 16→32
        new Conv2dGeometry(2, 32, 32, 32, 48, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1),     // all-conv's 32→64, fewer outputs
        new Conv2dGeometry(2, 16, 9, 70, 16, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1),      // rows of 70: 35 phase columns
        new Conv2dGeometry(2, 16, 11, 27, 16, 5, 5, SH: 2, SW: 2, PH: 2, PW: 2),     // 5x5, odd sides
        new Conv2dGeometry(2, 32, 13, 31, 16, 7, 7, SH: 2, SW: 2, PH: 3, PW: 3),     // 7x7, padding 3
        new Conv2dGeometry(2, 32, 10, 13, 16, 5, 3, SH: 3, SW: 2, PH: 2, PW: 0, DH: 2), // strides 3 and 2, dilated rows
        new Conv2dGeometry(2, 16, 12, 20, 16, 3, 3, SH: 2, SW: 2, PH: 2, PW: 2, DH: 2, DW: 2), // dilated both ways
        new Conv2dGeometry(2, 16, 10, 10, 16, 3, 3, SH: 2, SW: 2),                   // no padding
        new Conv2dGeometry(2, 32, 8, 8, 16, 1, 1, SH: 2, SW: 2),                     // 1x1: three phases of four empty
    };

    // Not for the channel-blocked dx: input channels that are no multiple of 16.
    public static TheoryData<Conv2dGeometry> OtherShapes => new()
    {
        new Conv2dGeometry(2, 3, 13, 12, 8, 7, 7, SH: 2, SW: 2, PH: 3, PW: 3),       // 3 channels: a block of 8 with 5 empty
        new Conv2dGeometry(2, 12, 9, 28, 24, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1),      // 12 channels: a block and a half
        new Conv2dGeometry(2, 16, 7, 29, 32, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1, G: 2), // two groups of 8 → 16
        new Conv2dGeometry(5, 24, 6, 30, 16, 3, 3, SH: 1, SW: 2, PH: 1, PW: 1),      // stride 1 in y, 2 in x
        new Conv2dGeometry(2, 8, 1, 17, 8, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1),        // one row
    };

    private static float[] Values(int n, long seed, bool special = false) => OutputRowConvTests.Values(n, seed, special);

    // dx by `algorithm`, written over sentinels (or added to 0.25 with `add`) with 40 more past its end, which must stay.
    private static float[] InputGradient(in Conv2dGeometry g, float[] x, float[] w, float[] dy, ConvAlgorithm algorithm, int threads, bool add)
    {
        int length = x.Length;
        var dx = add ? Enumerable.Repeat(0.25f, length + 40).ToArray() : Values(length + 40, 10);
        using (ThreadCount.Use(threads))
            Conv2dKernel.Backward(g, x, w, dy, dx, default, default, overwriteDx: !add, algorithm: algorithm);
        var past = add ? Enumerable.Repeat(0.25f, 40).ToArray() : Values(length + 40, 10)[length..];
        Assert.Equal(past, dx[length..]);
        return dx[..length];
    }

    private static IEnumerable<int> Bits(float[] v) => v.Select(BitConverter.SingleToInt32Bits);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Dx_is_the_channel_blocked_one_bit_for_bit_written_or_added_for_any_thread_count(Conv2dGeometry g)
    {
        if (!Avx512F.IsSupported) return; // AVX-512 only; elsewhere the planner never takes it
        Assert.Equal(ConvAlgorithm.OutputRows, ConvPlanner.Plan(g, ConvAlgorithm.OutputRows).InputGradient);
        Assert.Equal(ConvAlgorithm.ChannelBlocked, ConvPlanner.Plan(g, ConvAlgorithm.ChannelBlocked).InputGradient);
        var (x, w, dy) = (Values(g.N * g.C * g.H * g.W, 1), Values(g.OC * g.ColRows, 2), Values(g.N * g.OC * g.ColCols, 3, special: true));
        foreach (bool add in new[] { false, true })
        {
            var expected = InputGradient(g, x, w, dy, ConvAlgorithm.ChannelBlocked, 1, add);
            foreach (int threads in new[] { 1, 2 })
                Assert.Equal(Bits(expected), Bits(InputGradient(g, x, w, dy, ConvAlgorithm.OutputRows, threads, add)));
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    [MemberData(nameof(OtherShapes))]
    public void Dx_matches_the_reference(Conv2dGeometry g)
    {
        if (!Avx512F.IsSupported) return;
        var (x, w, dy) = (Values(g.N * g.C * g.H * g.W, 4), Values(g.OC * g.ColRows, 5), Values(g.N * g.OC * g.ColCols, 6));
        var expected = new float[x.Length];
        Conv2dReference.Backward(g, x, w, dy, expected, default, default);
        float[]? first = null;
        foreach (int threads in new[] { 1, 2 })
        {
            var dx = InputGradient(g, x, w, dy, ConvAlgorithm.OutputRows, threads, add: false);
            Conv2dKernelTests.AssertClose(expected, dx, $"dx {g}");
            Conv2dKernelTests.AssertClose(expected.Select(v => v + 0.25f).ToArray(),
                InputGradient(g, x, w, dy, ConvAlgorithm.OutputRows, threads, add: true), $"dx += {g}");
            first ??= dx;
            Assert.Equal(Bits(first), Bits(dx));
        }
    }

    [Fact]
    public void A_pinned_strided_layer_passes_the_finite_difference_check()
    {
        if (!Avx512F.IsSupported) return;
        var gen = new Generator(11);
        var x = Tensor.Randn(gen, 2, 5, 7, 9);
        var w = Tensor.Randn(gen, 8, 5, 3, 3);
        var b = Tensor.Randn(gen, 8);
        GradCheck.Check(t => Functional.Conv2d(t[0], t[1], t[2], stride: 2, padding: 1, algorithm: ConvAlgorithm.OutputRows),
            [x, w, b], what: "conv2d stride 2, dx by rows");
    }

    [Fact]
    public void The_planner_takes_it_where_phase_rows_fill_their_vectors_and_outputs_are_at_most_128()
    {
        if (!Avx512F.IsSupported) return;
        var (rows, blocked, im2col) = (ConvAlgorithm.OutputRows, ConvAlgorithm.ChannelBlocked, ConvAlgorithm.Im2ColGemm);
        Assert.Equal(rows, ConvPlanner.Plan(new Conv2dGeometry(128, 16, 28, 28, 32, 3, 3, 2, 2, 1, 1)).InputGradient);
        Assert.Equal(rows, ConvPlanner.Plan(new Conv2dGeometry(128, 32, 32, 32, 64, 3, 3, 2, 2, 1, 1)).InputGradient);
        Assert.Equal(rows, ConvPlanner.Plan(new Conv2dGeometry(128, 24, 28, 28, 48, 3, 3, 2, 2, 1, 1)).InputGradient);
        Assert.Equal(rows, ConvPlanner.Plan(new Conv2dGeometry(128, 64, 32, 32, 128, 3, 3, 2, 2, 1, 1)).InputGradient);
        // A shortcut's 1x1 kernel: im2col's GEMM and spread, on any plane.
        Assert.Equal(im2col, ConvPlanner.Plan(new Conv2dGeometry(128, 16, 28, 28, 32, 1, 1, 2, 2)).InputGradient);
        Assert.Equal(im2col, ConvPlanner.Plan(new Conv2dGeometry(128, 16, 56, 56, 32, 1, 1, 2, 2)).InputGradient);
        // Padded, a 1x1 kernel's col2im is the phased one, never measured against the rows: they keep it.
        Assert.Equal(rows, ConvPlanner.Plan(new Conv2dGeometry(128, 16, 28, 28, 32, 1, 1, 2, 2, 1, 1)).InputGradient);
        // Phase rows of 7 or 8 fill half a vector: the channel-blocked dx, or im2col's for a 1x1 kernel; 256 outputs: im2col's.
        Assert.Equal(blocked, ConvPlanner.Plan(new Conv2dGeometry(128, 32, 14, 14, 64, 3, 3, 2, 2, 1, 1)).InputGradient);
        Assert.Equal(blocked, ConvPlanner.Plan(new Conv2dGeometry(128, 64, 16, 16, 128, 3, 3, 2, 2, 1, 1)).InputGradient);
        Assert.Equal(im2col, ConvPlanner.Plan(new Conv2dGeometry(128, 32, 14, 14, 64, 1, 1, 2, 2)).InputGradient);
        Assert.Equal(im2col, ConvPlanner.Plan(new Conv2dGeometry(128, 48, 28, 28, 256, 3, 3, 2, 2, 1, 1)).InputGradient);
        // 4 input channels fill half a block of 8.
        Assert.NotEqual(rows, ConvPlanner.Plan(new Conv2dGeometry(128, 4, 32, 32, 16, 3, 3, 2, 2, 1, 1)).InputGradient);
        // A pinned strided layer runs the output-row forward too (rows split into column phases), and im2col's dW.
        Assert.Equal(new ConvPlan(rows, rows, im2col), ConvPlanner.Plan(new Conv2dGeometry(2, 3, 32, 32, 16, 3, 3, 2, 2, 1, 1), rows));
    }
}
