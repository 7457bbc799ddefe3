using System.Runtime.Intrinsics.X86;
using CnnLab.Kernels;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests.Kernels;

/// <summary>
/// The direct convolution by output rows (<see cref="OutputRowConv"/>) against the channel-blocked kernel and im2col + GEMM:
/// the same sum in the same order, so the same bits (NaN, infinities and −0 among the inputs), for one thread and two; against
/// the plain reference where the sum is longer than one GEMM slice. Shapes: rows that fill their vectors and rows that do not,
/// output channels that fill blocks of 8 and that do not, groups, dilation, a 7x7 kernel with padding 3, unequal kernel sides,
/// no padding (read in place), a one-pixel output; and the forward at a stride of 2 (rows split into column phases), odd and
/// even padding and widths, in rows, in columns or both.
/// </summary>
public class OutputRowConvTests
{
    public static TheoryData<Conv2dGeometry> Shapes => new()
    {
        new Conv2dGeometry(2, 64, 32, 32, 64, 3, 3, PH: 2, PW: 2, DH: 2, DW: 2, G: 4), // depthwise-dilated's 4 groups of 16
        new Conv2dGeometry(3, 3, 32, 32, 32, 3, 3, PH: 1, PW: 1),            // an RGB first layer: rows of two whole vectors
        new Conv2dGeometry(2, 16, 14, 14, 16, 3, 3, PH: 1, PW: 1),           // rows of 14: a partial vector each
        new Conv2dGeometry(2, 5, 9, 21, 12, 3, 3, PH: 1, PW: 1),             // 12 outputs: a block of 8 and one of 4; rows of 21
        new Conv2dGeometry(2, 6, 10, 11, 12, 3, 3, PH: 2, PW: 2, DH: 2, DW: 2, G: 3), // groups of 4 outputs, dilated
        new Conv2dGeometry(2, 3, 13, 20, 16, 7, 7, PH: 3, PW: 3),            // 7x7, padding 3
        new Conv2dGeometry(2, 4, 9, 34, 8, 2, 3, PH: 1, PW: 0),              // unequal kernel sides and padding
        new Conv2dGeometry(2, 3, 6, 34, 16, 3, 3),                           // no padding, rows of 32: read in place
        new Conv2dGeometry(2, 3, 5, 13, 8, 3, 3),                            // no padding, rows of 11: through the scratch
        new Conv2dGeometry(17, 5, 5, 5, 16, 5, 5),                           // one output pixel; images for two threads
        new Conv2dGeometry(2, 8, 6, 32, 16, 3, 3, PH: 2, PW: 2),             // a "full" convolution: its dx reads dy in place
        new Conv2dGeometry(2, 4, 6, 32, 8, 3, 3, PH: 4, PW: 4, DH: 2, DW: 2), // the same, dilated
    };

    public static TheoryData<Conv2dGeometry> StrideTwoShapes => new()
    {
        new Conv2dGeometry(3, 24, 20, 28, 24, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1),        // mobile-widths' 24→24: rows of 14
        new Conv2dGeometry(2, 3, 33, 31, 16, 7, 7, SH: 2, SW: 2, PH: 3, PW: 3),         // 7x7, odd padding and width
        new Conv2dGeometry(2, 8, 16, 35, 12, 3, 3, SH: 2, SW: 2, PH: 2, PW: 2, DH: 2, DW: 2, G: 2), // dilated groups
        new Conv2dGeometry(2, 4, 9, 20, 8, 1, 1, SH: 2, SW: 2),                          // a 1x1 projection, no padding
        new Conv2dGeometry(2, 6, 11, 18, 8, 3, 3, SH: 1, SW: 2, PH: 1, PW: 0),          // along rows only, even columns first
        new Conv2dGeometry(17, 3, 10, 10, 16, 3, 3, SH: 2, SW: 1, PH: 1, PW: 1),        // down columns only; two threads' images
        new Conv2dGeometry(2, 5, 12, 1, 8, 3, 1, SH: 2, SW: 2, PH: 1),                  // one column
        new Conv2dGeometry(2, 3, 9, 32, 8, 3, 1, SH: 2),                                // down columns, read in place
    };

    // Gaussian values; with special, NaN, ±∞ and −0 among them. Shared with StrideTwoRowInputGradientTests.
    internal static float[] Values(int n, long seed, bool special = false)
    {
        var r = new Generator(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)r.NextGaussian();
        if (special && n > 40) (v[1], v[17], v[23], v[40]) = (float.NaN, float.PositiveInfinity, -0f, float.NegativeInfinity);
        return v;
    }

    private static float[] Forward(in Conv2dGeometry g, float[] x, float[] w, float[] b, bool hasBias, bool relu, ConvAlgorithm algorithm,
        int threads)
    {
        var y = new float[g.N * g.OC * g.ColCols + 40];
        y.AsSpan(g.N * g.OC * g.ColCols).Fill(1234.5f); // sentinels: nothing is written past the output
        using (ThreadCount.Use(threads)) Conv2dKernel.Forward(g, x, w, b, hasBias, y, relu, algorithm: algorithm);
        return y;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    [MemberData(nameof(StrideTwoShapes))]
    public void Forward_is_the_channel_blocked_and_im2col_paths_bit_for_bit(Conv2dGeometry g)
    {
        if (!Avx512F.IsSupported) return; // AVX-512 only; elsewhere the planner never takes it
        Assert.True(g.ColRows <= Gemm.KcMax);
        var x = Values(g.N * g.C * g.H * g.W, 1, special: true);
        var w = Values(g.OC * g.ColRows, 2);
        var b = Values(g.OC, 3);
        foreach (var (hasBias, relu) in new[] { (true, true), (true, false), (false, true), (false, false) })
        {
            var expected = Forward(g, x, w, b, hasBias, relu, ConvAlgorithm.Im2ColGemm, threads: 1);
            if (ConvPlanner.CanRun(ConvAlgorithm.ChannelBlocked, g))
                Assert.Equal(Bits(expected), Bits(Forward(g, x, w, b, hasBias, relu, ConvAlgorithm.ChannelBlocked, threads: 1)));
            foreach (int threads in new[] { 1, 2 })
                Assert.Equal(Bits(expected), Bits(Forward(g, x, w, b, hasBias, relu, ConvAlgorithm.OutputRows, threads)));
        }
    }

    private static IEnumerable<int> Bits(float[] v) => v.Select(BitConverter.SingleToInt32Bits);

    [Fact]
    public void Forward_with_more_taps_than_one_GEMM_slice_matches_the_reference()
    {
        if (!Avx512F.IsSupported) return;
        var g = new Conv2dGeometry(2, 32, 16, 16, 12, 5, 5, PH: 2, PW: 2); // R = 800 > KcMax
        Assert.True(g.ColRows > Gemm.KcMax);
        var (x, w, b) = (Values(g.N * g.C * g.H * g.W, 4), Values(g.OC * g.ColRows, 5), Values(g.OC, 6));
        var expected = new float[g.N * g.OC * g.ColCols];
        Conv2dReference.Forward(g, x, w, b, true, expected);
        var y = Forward(g, x, w, b, true, relu: false, ConvAlgorithm.OutputRows, threads: 2);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], y[i], 1e-4f * MathF.Max(1f, MathF.Abs(expected[i])));
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Input_gradient_as_a_forward_on_dy_matches_the_reference_written_or_added(Conv2dGeometry g)
    {
        if (!Avx512F.IsSupported) return;
        var (x, w, dy) = (Values(g.N * g.C * g.H * g.W, 7), Values(g.OC * g.ColRows, 8), Values(g.N * g.OC * g.ColCols, 9));
        var expected = new float[x.Length];
        Conv2dReference.Backward(g, x, w, dy, expected, default, default);
        Assert.Equal(ConvAlgorithm.OutputRows, ConvPlanner.Plan(g, ConvAlgorithm.OutputRows).InputGradient);
        float[]? first = null;
        foreach (int threads in new[] { 1, 2 })
        {
            // 40 sentinels past dx: nothing is written beyond it.
            var (written, added) = (Values(x.Length + 40, 10), Enumerable.Repeat(0.25f, x.Length + 40).ToArray());
            using (ThreadCount.Use(threads))
            {
                Conv2dKernel.Backward(g, x, w, dy, written, default, default, overwriteDx: true, algorithm: ConvAlgorithm.OutputRows);
                Conv2dKernel.Backward(g, x, w, dy, added, default, default, algorithm: ConvAlgorithm.OutputRows);
            }
            Assert.Equal(Values(x.Length + 40, 10)[x.Length..], written[x.Length..]);
            Assert.All(added[x.Length..], v => Assert.Equal(0.25f, v));
            Conv2dKernelTests.AssertClose(expected, written[..x.Length], $"dx {g}");
            Conv2dKernelTests.AssertClose(expected.Select(v => v + 0.25f).ToArray(), added[..x.Length], $"dx += {g}");
            first ??= written;
            Assert.Equal(first, written); // the same bits for one thread and two
        }
    }

    [Fact]
    public void Input_gradient_through_a_relu_mask_matches_the_reference()
    {
        if (!Avx512F.IsSupported) return;
        // dy comes from the gradient source's scratch (masked by y > 0), not from the caller's array; the second shape reads it
        // in place.
        Conv2dGeometry[] shapes = [new(3, 16, 14, 14, 16, 3, 3, PH: 1, PW: 1), new(2, 8, 6, 32, 16, 3, 3, PH: 2, PW: 2)];
        foreach (var g in shapes)
        {
            var (x, w, b) = (Values(g.N * g.C * g.H * g.W, 11), Values(g.OC * g.ColRows, 12), Values(g.OC, 13));
            var (y, dy) = (new float[g.N * g.OC * g.ColCols], Values(g.N * g.OC * g.ColCols, 14));
            Conv2dReference.Forward(g, x, w, b, true, y);
            for (int i = 0; i < y.Length; i++) y[i] = MathF.Max(y[i], 0f);
            var maskedDy = dy.Select((v, i) => y[i] > 0 ? v : 0f).ToArray();
            var expected = new float[x.Length];
            Conv2dReference.Backward(g, x, w, maskedDy, expected, default, default);
            var dx = new float[x.Length];
            Conv2dKernel.Backward(g, x, w, dy, dx, default, default, reluOutput: y, overwriteDx: true, algorithm: ConvAlgorithm.OutputRows);
            Conv2dKernelTests.AssertClose(expected, dx, $"relu-masked dx {g}");
        }
    }

    [Fact]
    public void Padding_beyond_the_kernels_reach_leaves_dx_to_im2col()
    {
        var g = new Conv2dGeometry(2, 4, 8, 16, 8, 3, 3, PH: 3, PW: 3);
        Assert.False(OutputRowInputGradient.Supports(g));
        if (Avx512F.IsSupported) Assert.Equal(ConvAlgorithm.Im2ColGemm, ConvPlanner.Plan(g, ConvAlgorithm.OutputRows).InputGradient);
    }

    [Fact]
    public void The_planner_takes_it_where_rows_fill_their_vectors_and_steps_of_16_channels_or_large_planes_would_be_slower()
    {
        if (!Avx512F.IsSupported) return;
        var rows = ConvAlgorithm.OutputRows;
        Assert.Equal(rows, ConvPlanner.Plan(new Conv2dGeometry(128, 64, 32, 32, 64, 3, 3, PH: 2, PW: 2, DH: 2, DW: 2, G: 4)).Forward);
        Assert.Equal(rows, ConvPlanner.Plan(new Conv2dGeometry(128, 3, 32, 32, 32, 3, 3, PH: 1, PW: 1)).Forward);
        Assert.Equal(rows, ConvPlanner.Plan(new Conv2dGeometry(128, 3, 32, 32, 24, 5, 5, PH: 2, PW: 2)).Forward);
        // 32 channels a step on a plane of fewer than 1,024 pixels: the channel-blocked kernel (dilated: 5x5 "same" takes Winograd).
        var dilated = new Conv2dGeometry(128, 32, 16, 16, 32, 5, 5, PH: 4, PW: 4, DH: 2, DW: 2);
        Assert.Equal(ConvAlgorithm.ChannelBlocked, ConvPlanner.Plan(dilated).Forward);
        // Rows of 24 use 3/4 of their vectors, of 12 as little; 4 output channels half a block.
        Assert.Equal(ConvAlgorithm.ChannelBlocked,
            ConvPlanner.Plan(new Conv2dGeometry(128, 32, 24, 24, 16, 3, 3, PH: 2, PW: 2, DH: 2, DW: 2)).Forward);
        Assert.NotEqual(rows, ConvPlanner.Plan(new Conv2dGeometry(128, 16, 12, 12, 16, 3, 3, PH: 2, PW: 2, DH: 2, DW: 2)).Forward);
        Assert.NotEqual(rows, ConvPlanner.Plan(new Conv2dGeometry(128, 8, 32, 32, 4, 3, 3, PH: 1, PW: 1)).Forward);
        // At stride 2: where the channel-blocked kernel pads its lanes, or on planes of 1,024 pixels; not with 16 channels a step
        // on smaller ones. A stride of 3 along rows it cannot run.
        Assert.Equal(rows, ConvPlanner.Plan(new Conv2dGeometry(128, 24, 40, 56, 24, 3, 3, 2, 2, 1, 1)).Forward);
        Assert.Equal(rows, ConvPlanner.Plan(new Conv2dGeometry(128, 3, 64, 64, 32, 7, 7, 2, 2, 3, 3)).Forward);
        Assert.Equal(ConvAlgorithm.ChannelBlocked, ConvPlanner.Plan(new Conv2dGeometry(128, 40, 20, 28, 80, 3, 3, 2, 2, 1, 1)).Forward);
        Assert.Equal(ConvAlgorithm.ChannelBlocked,
            ConvPlanner.Plan(new Conv2dGeometry(128, 64, 32, 32, 128, 3, 3, 2, 2, 1, 1, G: 8)).Forward);
        Assert.Equal(rows, ConvPlanner.Plan(new Conv2dGeometry(2, 3, 32, 32, 16, 3, 3, 2, 2, 1, 1), rows).Forward);
        Assert.Throws<ArgumentException>(() => ConvPlanner.Plan(new Conv2dGeometry(2, 3, 32, 32, 16, 3, 3, 1, 3, 1, 1), rows));
    }
}
