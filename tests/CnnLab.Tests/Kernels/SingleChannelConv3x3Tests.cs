using System.Runtime.Intrinsics.X86;
using CnnLab.Kernels;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// The direct one-channel 3x3 convolution (<see cref="SingleChannelConv3x3"/>, what Conv2dKernel.Forward runs for
/// such a layer) against im2col + GEMM, bit for bit: with and without bias and ReLU, NaN, ±Inf and −0 in x, odd
/// sides, rows of one, two and three blocks of 32 columns, one row, the plane statistics, 1 and 2 threads; the
/// sentinels after y stay untouched.
/// </summary>
public class SingleChannelConv3x3Tests
{
    public static TheoryData<int, int, int, int> Shapes => new()
    {
        // N, OC, H, W
        { 5, 32, 28, 28 },  // cnn-bn's first layer
        { 3, 5, 15, 17 },   // odd sides
        { 2, 4, 9, 70 },    // 70 columns: two blocks of 32 and 6
        { 2, 3, 6, 64 },    // exactly two blocks
        { 3, 2, 1, 33 },    // one row: the only conv row takes kernel row 1 alone
        { 16, 3, 12, 12 },  // enough images for two threads
    };

    private static float[] Values(int n, long seed)
    {
        var r = new Generator(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)r.NextGaussian();
        if (n > 20) (v[3], v[11], v[17], v[19]) = (float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0f);
        return v;
    }

    private static (float[] Y, double[] Means, double[] Squares) Forward(in Conv2dGeometry g, float[] x, float[] w, float[] b, bool hasBias,
        bool relu, bool direct, int threads)
    {
        int outs = g.N * g.OC * g.H * g.W;
        var y = new float[outs + 40];
        y.AsSpan(outs).Fill(1234.5f);
        var (means, squares) = (new double[g.N * g.OC], new double[g.N * g.OC]);
        var algorithm = direct ? ConvAlgorithm.SingleChannel : ConvAlgorithm.Im2ColGemm;
        using (ThreadCount.Use(threads)) Conv2dKernel.Forward(g, x, w, b, hasBias, y, relu, means, squares, algorithm);
        return (y, means, squares);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Forward_is_the_im2col_path_bit_for_bit(int n, int oc, int h, int w)
    {
        var g = new Conv2dGeometry(n, 1, h, w, oc, 3, 3, PH: 1, PW: 1);
        if (!Avx512F.IsSupported) return; // AVX-512 only; elsewhere im2col + GEMM is all there is
        Assert.Equal(ConvAlgorithm.SingleChannel, ConvPlanner.Plan(g).Forward);
        var x = Values(n * h * w, 1);
        var wt = Values(oc * 9, 2);
        var b = Values(oc, 3);
        foreach (var (hasBias, relu) in new[] { (true, true), (true, false), (false, true), (false, false) })
        {
            var expected = Forward(g, x, wt, b, hasBias, relu, direct: false, threads: 1);
            foreach (int threads in new[] { 1, 2 })
            {
                var actual = Forward(g, x, wt, b, hasBias, relu, direct: true, threads);
                Assert.Equal(expected.Y.Select(BitConverter.SingleToInt32Bits), actual.Y.Select(BitConverter.SingleToInt32Bits));
                Assert.Equal(expected.Means, actual.Means);
                Assert.Equal(expected.Squares, actual.Squares);
            }
        }
    }

    [Fact]
    public void Takes_only_one_channel_3x3_with_padding_1()
    {
        if (!Avx512F.IsSupported) return;
        Assert.False(SingleChannelConv3x3.Supports(new Conv2dGeometry(2, 2, 8, 8, 4, 3, 3, PH: 1, PW: 1)));  // two input channels
        Assert.False(SingleChannelConv3x3.Supports(new Conv2dGeometry(2, 1, 8, 8, 4, 3, 3)));                // no padding
        Assert.False(SingleChannelConv3x3.Supports(new Conv2dGeometry(2, 1, 8, 8, 4, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1)));
        Assert.False(SingleChannelConv3x3.Supports(new Conv2dGeometry(2, 1, 8, 8, 4, 5, 5, PH: 2, PW: 2)));
    }
}
