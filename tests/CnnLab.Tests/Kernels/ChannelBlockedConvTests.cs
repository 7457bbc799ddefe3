using System.Runtime.Intrinsics.X86;
using CnnLab.Kernels;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// The direct convolution with 16 output channels per vector (<see cref="ChannelBlockedConv"/>) against
/// im2col + GEMM (the same sum in the same order, so the same bits where the GEMM takes k in one slice) and
/// against the plain reference where it does not; its weight gradient against im2col + GEMM to rounding
/// (the pixels are summed in another order) and the same bits for any thread count; its input gradient
/// and bias gradient are the general path's. Shapes: lenet5's conv2, padding, stride 2, dilation 2,
/// 32 channels, planes whose pixels do not fill the last block of 8 (1 to 4 left: the pairs' four-pixel steps), one pixel.
/// </summary>
public class ChannelBlockedConvTests
{
    public static TheoryData<Conv2dGeometry> Shapes => new()
    {
        new Conv2dGeometry(5, 6, 14, 14, 16, 5, 5),                        // lenet5's conv2: 100 pixels
        new Conv2dGeometry(3, 4, 13, 11, 32, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1), // 7x6 = 42 pixels, two channel blocks (a pair)
        new Conv2dGeometry(2, 5, 9, 10, 80, 3, 3, PH: 1, PW: 1),           // 80 outputs: two pairs, then one block of 16
        new Conv2dGeometry(2, 3, 64, 8, 48, 3, 3, PH: 1, PW: 1),           // 512 pixels: rows that alias in L1 go through a tile
        new Conv2dGeometry(2, 3, 5, 41, 16, 3, 3, PH: 1, PW: 1),           // rows of 41: runs of 16 pixels, then blocks of 8
        new Conv2dGeometry(2, 3, 9, 40, 16, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1), // stride 2, rows of 20: runs of 16 two floats apart
        new Conv2dGeometry(2, 3, 12, 12, 16, 3, 3, PH: 2, PW: 2, DH: 2, DW: 2),  // dilation 2
        new Conv2dGeometry(4, 2, 9, 7, 16, 2, 3, PH: 1, PW: 0),            // unequal kernel and padding: 10x5 pixels
        new Conv2dGeometry(17, 5, 5, 5, 16, 5, 5),                         // one pixel; enough images for two threads
        new Conv2dGeometry(2, 1, 16, 16, 48, 1, 1, SH: 2, SW: 2),          // 1x1, stride 2: 64 pixels, 1 tap
        new Conv2dGeometry(3, 5, 14, 14, 64, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1), // 7x7: the pairs' last pixel by four-pixel steps
        new Conv2dGeometry(2, 3, 10, 10, 32, 3, 3, PH: 1, PW: 1),          // 100 pixels: the last four by a four-pixel step
    };

    private static float[] Values(int n, long seed, bool special = false)
    {
        var r = new Generator(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)r.NextGaussian();
        if (special && n > 8) (v[1], v[5], v[7]) = (float.NaN, float.PositiveInfinity, -0f);
        return v;
    }

    private static float[] Forward(in Conv2dGeometry g, float[] x, float[] w, float[] b, bool hasBias, bool relu, bool direct, int threads)
    {
        var y = new float[g.N * g.OC * g.ColCols + 40];
        y.AsSpan(g.N * g.OC * g.ColCols).Fill(1234.5f);
        var algorithm = direct ? ConvAlgorithm.ChannelBlocked : ConvAlgorithm.Im2ColGemm;
        using (ThreadCount.Use(threads)) Conv2dKernel.Forward(g, x, w, b, hasBias, y, relu, algorithm: algorithm);
        return y;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Forward_is_the_im2col_path_bit_for_bit(Conv2dGeometry g)
    {
        if (!Avx512F.IsSupported) return; // AVX-512 only; elsewhere im2col + GEMM is all there is
        Assert.True(ChosenByThePlanner(g));
        Assert.True(g.ColRows <= Gemm.KcMax);
        var x = Values(g.N * g.C * g.H * g.W, 1, special: true);
        var w = Values(g.OC * g.ColRows, 2);
        var b = Values(g.OC, 3);
        foreach (var (hasBias, relu) in new[] { (true, true), (true, false), (false, true), (false, false) })
        {
            var expected = Forward(g, x, w, b, hasBias, relu, direct: false, threads: 1);
            foreach (int threads in new[] { 1, 2 })
            {
                var y = Forward(g, x, w, b, hasBias, relu, direct: true, threads);
                // Bit for bit (NaN as NaN), the sentinels past the output untouched.
                Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), y.Select(BitConverter.SingleToInt32Bits));
            }
        }
    }

    [Fact]
    public void Forward_with_more_taps_than_one_GEMM_slice_matches_the_reference()
    {
        if (!Avx512F.IsSupported) return;
        var g = new Conv2dGeometry(2, 16, 10, 10, 32, 5, 5); // R = 400 > KcMax
        Assert.True(g.ColRows > Gemm.KcMax && ChosenByThePlanner(g));
        var x = Values(g.N * g.C * g.H * g.W, 4);
        var w = Values(g.OC * g.ColRows, 5);
        var b = Values(g.OC, 6);
        var expected = new float[g.N * g.OC * g.ColCols];
        Conv2dReference.Forward(g, x, w, b, true, expected);
        var y = Forward(g, x, w, b, true, relu: false, direct: true, threads: 2);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], y[i], 1e-4f * MathF.Max(1f, MathF.Abs(expected[i])));
    }

    private static (float[] Dx, float[] Dw, float[] Db) Backward(in Conv2dGeometry g, float[] x, float[] w, float[] dy, bool direct, int threads)
    {
        var (dx, dw, db) = (new float[g.N * g.C * g.H * g.W], Values(g.OC * g.ColRows, 9), Values(g.OC, 10));
        var algorithm = direct ? ConvAlgorithm.ChannelBlocked : ConvAlgorithm.Im2ColGemm;
        using (ThreadCount.Use(threads)) Conv2dKernel.Backward(g, x, w, dy, dx, dw, db, algorithm: algorithm);
        return (dx, dw, db);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Weight_gradient_matches_the_im2col_path_and_not_the_thread_count(Conv2dGeometry g)
    {
        if (!Avx512F.IsSupported) return;
        var x = Values(g.N * g.C * g.H * g.W, 11);
        var w = Values(g.OC * g.ColRows, 12);
        var dy = Values(g.N * g.OC * g.ColCols, 13);
        var expected = Backward(g, x, w, dy, direct: false, threads: 1);
        var one = Backward(g, x, w, dy, direct: true, threads: 1);
        var two = Backward(g, x, w, dy, direct: true, threads: 2);
        Assert.Equal(one.Dw, two.Dw);
        Assert.Equal(expected.Dx, one.Dx); // dx and db do not take this path
        Assert.Equal(expected.Db, one.Db);
        float scale = expected.Dw.Max(MathF.Abs);
        for (int i = 0; i < expected.Dw.Length; i++) Assert.Equal(expected.Dw[i], one.Dw[i], 1e-5f * scale);
    }

    [Fact]
    public void Weight_gradient_alone_accumulates_onto_dw()
    {
        if (!Avx512F.IsSupported) return;
        var g = new Conv2dGeometry(3, 6, 14, 14, 16, 5, 5);
        var x = Values(g.N * g.C * g.H * g.W, 21);
        var dy = Values(g.N * g.OC * g.ColCols, 22);
        var start = Values(g.OC * g.ColRows, 23);
        var dw = (float[])start.Clone();
        Conv2dKernel.Backward(g, x, Values(g.OC * g.ColRows, 24), dy, default, dw, default);
        var fresh = new float[dw.Length];
        Conv2dReference.Backward(g, x, Values(g.OC * g.ColRows, 24), dy, default, fresh, default);
        float scale = fresh.Max(MathF.Abs);
        for (int i = 0; i < dw.Length; i++) Assert.Equal(start[i] + fresh[i], dw[i], 1e-5f * scale);
    }

    [Theory]
    [InlineData(true, 14, 4)]
    [InlineData(false, 14, 4)]
    [InlineData(true, 12, 8)]    // 8x8 planes: blocks of 8 images, 512 columns, rows 528 floats apart (RowStride)
    [InlineData(false, 12, 8)]
    public void Input_gradient_in_blocks_of_images_is_each_image_alone(bool withDw, int side, int blockImages)
    {
        // dx of small planes runs several images' dY through one GEMM (ConvBackwardPass.DxBlockImages): the batch's dx
        // must be each image's own, bit for bit, whatever the blocks (37 images: chunks of 2 or 3 with dW, short last blocks) and threads.
        var g = new Conv2dGeometry(37, 6, side, side, 16, 5, 5);
        Assert.Equal(blockImages, ConvBackwardPass.DxBlockImages(g.ColCols));
        var x = Values(g.N * g.C * g.H * g.W, 31);
        var w = Values(g.OC * g.ColRows, 32);
        var dy = Values(g.N * g.OC * g.ColCols, 33);
        int xImage = g.C * g.H * g.W, yImage = g.OC * g.ColCols;
        var alone = new float[x.Length];
        var one = g with { N = 1 };
        for (int n = 0; n < g.N; n++)
            Conv2dKernel.Backward(one, x.AsSpan(n * xImage, xImage), w, dy.AsSpan(n * yImage, yImage), alone.AsSpan(n * xImage, xImage),
                withDw ? new float[w.Length] : default, default);
        foreach (int threads in new[] { 1, 2 })
        {
            var dx = new float[x.Length];
            using (ThreadCount.Use(threads)) Conv2dKernel.Backward(g, x, w, dy, dx, withDw ? new float[w.Length] : default, default);
            Assert.Equal(alone, dx);
        }
        var reference = new float[x.Length];
        Conv2dReference.Backward(g, x, w, dy, reference, default, default);
        float scale = reference.Max(MathF.Abs);
        for (int i = 0; i < reference.Length; i++) Assert.Equal(reference[i], alone[i], 1e-5f * scale);
    }

    [Theory]
    [InlineData(100, 4)]   // lenet5's conv2
    [InlineData(196, 2)]
    [InlineData(25, 8)]
    [InlineData(300, 1)]
    [InlineData(784, 1)]
    public void Input_gradient_blocks_hold_up_to_512_columns(int pixels, int images) => Assert.Equal(images, ConvBackwardPass.DxBlockImages(pixels));

    [Fact]
    public void Takes_only_the_shapes_it_was_written_for()
    {
        if (!Avx512F.IsSupported) return;
        Assert.True(ChosenByThePlanner(new Conv2dGeometry(2, 6, 14, 14, 16, 5, 5)));
        Assert.False(ChosenByThePlanner(new Conv2dGeometry(2, 1, 28, 28, 6, 5, 5, PH: 2, PW: 2)));   // 6 output channels
        Assert.True(ChosenByThePlanner(new Conv2dGeometry(2, 6, 14, 14, 32, 5, 5, G: 2)));            // groups of 16 outputs
        Assert.False(ChosenByThePlanner(new Conv2dGeometry(2, 6, 14, 14, 16, 5, 5, G: 2)));           // groups of 8
        Assert.False(ChosenByThePlanner(new Conv2dGeometry(2, 32, 14, 14, 64, 3, 3, PH: 1, PW: 1)));  // Winograd's
        Assert.False(ChosenByThePlanner(new Conv2dGeometry(2, 6, 14, 14, 16, 1, 1)));                // pointwise
        Assert.True(ChosenByThePlanner(new Conv2dGeometry(2, 6, 28, 28, 16, 5, 5)));                 // 576 pixels, 150 taps
        Assert.False(ChosenByThePlanner(new Conv2dGeometry(2, 32, 20, 20, 80, 5, 5)));               // 800 taps and 256 pixels
        Assert.True(ChosenByThePlanner(new Conv2dGeometry(2, 32, 20, 20, 64, 5, 5)));                // the same, 32 outputs per step
        Assert.True(ChosenByThePlanner(new Conv2dGeometry(2, 128, 16, 16, 128, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1))); // 1152 taps, 64 pixels
        Assert.False(ChosenByThePlanner(new Conv2dGeometry(2, 3, 64, 64, 80, 7, 7, SH: 2, SW: 2, PH: 3, PW: 3)));  // a 7x7 stem's forward
        Assert.Equal(ConvAlgorithm.ChannelBlocked,
            ConvPlanner.Plan(new Conv2dGeometry(2, 3, 64, 64, 80, 7, 7, SH: 2, SW: 2, PH: 3, PW: 3)).WeightGradient);  // but not its dW
        Assert.Equal(ConvAlgorithm.ChannelBlocked,
            ConvPlanner.Plan(new Conv2dGeometry(2, 3, 64, 64, 64, 7, 7, SH: 2, SW: 2, PH: 3, PW: 3)).WeightGradient);  // 32 per step
        Assert.True(ChosenByThePlanner(new Conv2dGeometry(2, 3, 32, 32, 64, 7, 7, SH: 2, SW: 2, PH: 3, PW: 3)));   // and 256 pixels
        Assert.True(ChosenByThePlanner(new Conv2dGeometry(2, 16, 28, 28, 64, 1, 1, SH: 2, SW: 2)));  // 1x1, stride 2
        Assert.Throws<ArgumentException>(() => new ChannelBlockedConv(new Conv2dGeometry(2, 6, 28, 28, 24, 5, 5, G: 2)));  // groups of 12
    }

    // The planner's forward choice for g is this kernel (its weight gradient then is too).
    private static bool ChosenByThePlanner(in Conv2dGeometry g) => ConvPlanner.Plan(g).Forward == ConvAlgorithm.ChannelBlocked;
}
