using System.Runtime.Intrinsics.X86;
using CnnLab.Kernels;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// The channel-blocked weight gradient's runs of several images on small planes (<see cref="ChannelBlockedConv.RunImages"/>):
/// with batches whose chunks hold several images, each tap sums the pixels of a whole run before adding to the chunk's partial.
/// Checked against im2col + GEMM to rounding and for the same bits on 1 and 2 threads: runs cut short by a chunk's end (3 of 8,
/// then 8 and 1 or 2), a pair of 16-channel blocks and a block of 16 after it, an input read in place (1x1, no padding), a
/// partial large enough that the batch is cut into 8 chunks instead of 16, and 16 outputs summed with the input's channels in the
/// lanes (one or two blocks of 16, padding 1 or 2).
/// </summary>
public class ChannelBlockedWeightGradientRunTests
{
    public static TheoryData<Conv2dGeometry, int> Shapes => new()
    {
        { new Conv2dGeometry(48, 16, 7, 7, 16, 3, 3, PH: 1, PW: 1), 8 },              // plain-cnn-20's 7x7: chunks of 3
        { new Conv2dGeometry(150, 16, 7, 7, 16, 3, 3, PH: 1, PW: 1), 8 },             // chunks of 9 or 10: a run of 8, then 1 or 2
        { new Conv2dGeometry(40, 32, 6, 5, 16, 3, 3, PH: 1, PW: 1), 8 },              // input lanes: two blocks of 16 inputs
        { new Conv2dGeometry(21, 16, 5, 6, 16, 3, 3, PH: 2, PW: 2), 8 },              // input lanes: padding 2, 7x8 outputs
        { new Conv2dGeometry(40, 8, 7, 7, 32, 3, 3, PH: 1, PW: 1), 8 },               // a pair
        { new Conv2dGeometry(40, 6, 16, 16, 48, 1, 1, SH: 2, SW: 2), 8 },             // read in place; a pair, then 16
        { new Conv2dGeometry(36, 5, 13, 11, 32, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1), 8 }, // 42 pixels, stride 2
        { new Conv2dGeometry(40, 3, 12, 12, 16, 3, 3, PH: 2, PW: 2, DH: 2, DW: 2), 3 }, // 144 pixels, dilation 2
        { new Conv2dGeometry(19, 64, 6, 6, 128, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1), 8 },  // a partial of 73,728 floats: 8 chunks
    };

    private static float[] Values(int n, long seed)
    {
        var r = new Generator(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)r.NextGaussian();
        return v;
    }

    private static (float[] Dx, float[] Dw) Backward(in Conv2dGeometry g, float[] x, float[] w, float[] dy, ConvAlgorithm algorithm,
        int threads)
    {
        var (dx, dw) = (new float[g.N * g.C * g.H * g.W], Values(g.OC * g.ColRows, 9));
        using (ThreadCount.Use(threads)) Conv2dKernel.Backward(g, x, w, dy, dx, dw, default, algorithm: algorithm);
        return (dx, dw);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Runs_of_images_match_the_im2col_path_and_not_the_thread_count(Conv2dGeometry g, int runImages)
    {
        if (!Avx512F.IsSupported) return; // AVX-512 only; elsewhere im2col + GEMM is all there is
        Assert.Equal(runImages, new ChannelBlockedConv(g).RunImages);
        var x = Values(g.N * g.C * g.H * g.W, 11);
        var w = Values(g.OC * g.ColRows, 12);
        var dy = Values(g.N * g.OC * g.ColCols, 13);
        var expected = Backward(g, x, w, dy, ConvAlgorithm.Im2ColGemm, threads: 1);
        var one = Backward(g, x, w, dy, ConvAlgorithm.ChannelBlocked, threads: 1);
        var two = Backward(g, x, w, dy, ConvAlgorithm.ChannelBlocked, threads: 2);
        Assert.Equal(one.Dw.Select(BitConverter.SingleToInt32Bits), two.Dw.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(one.Dx, two.Dx);
        float scale = expected.Dw.Max(MathF.Abs);
        for (int i = 0; i < expected.Dw.Length; i++) Assert.Equal(expected.Dw[i], one.Dw[i], 2e-5f * scale);
    }

    [Fact]
    public void Large_partials_cut_the_batch_into_fewer_chunks()
    {
        Assert.Equal(16, ConvBackwardPass.WeightGradientChunksFor(128, 1 << 16));
        Assert.Equal(8, ConvBackwardPass.WeightGradientChunksFor(128, (1 << 16) + 1));
        Assert.Equal(8, ConvBackwardPass.WeightGradientChunksFor(128, 1 << 19));
        Assert.Equal(2, ConvBackwardPass.WeightGradientChunksFor(128, (1 << 19) + 1));   // past L2: one per core
        Assert.Equal(5, ConvBackwardPass.WeightGradientChunksFor(5, 1 << 18));
        Assert.Equal(1, ConvBackwardPass.WeightGradientChunksFor(1, 1 << 20));
        Assert.Equal(12, ConvBackwardPass.WeightGradientChunksFor(12, 100));
    }

    [Fact]
    public void A_huge_partial_in_two_chunks_gives_the_same_bits_on_1_and_2_threads()
    {
        if (!Avx512F.IsSupported) return;
        var g = new Conv2dGeometry(5, 256, 4, 4, 384, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1);   // 384 x 2304 floats a partial
        Assert.Equal(2, ConvBackwardPass.WeightGradientChunksFor(g.N, (long)g.OC * g.ColRows));
        var x = Values(g.N * g.C * g.H * g.W, 21);
        var w = Values(g.OC * g.ColRows, 22);
        var dy = Values(g.N * g.OC * g.ColCols, 23);
        var one = Backward(g, x, w, dy, ConvAlgorithm.Auto, threads: 1);
        var two = Backward(g, x, w, dy, ConvAlgorithm.Auto, threads: 2);
        Assert.Equal(one.Dw.Select(BitConverter.SingleToInt32Bits), two.Dw.Select(BitConverter.SingleToInt32Bits));
        var start = Values(g.OC * g.ColRows, 9);   // Backward's dw starts from these
        var reference = new float[start.Length];
        Conv2dReference.Backward(g, x, w, dy, default, reference, default);
        float scale = reference.Max(MathF.Abs);
        for (int i = 0; i < reference.Length; i++) Assert.Equal(start[i] + reference[i], one.Dw[i], 2e-5f * scale);
    }

    [Fact]
    public void A_run_takes_images_of_one_group_up_to_its_pixels_and_scratch()
    {
        if (!Avx512F.IsSupported) return;
        Assert.Equal(8, new ChannelBlockedConv(new Conv2dGeometry(128, 16, 7, 7, 16, 3, 3, PH: 1, PW: 1)).RunImages);
        Assert.Equal(2, new ChannelBlockedConv(new Conv2dGeometry(128, 16, 14, 14, 16, 3, 3, PH: 1, PW: 1)).RunImages); // 392 pixels
        Assert.Equal(1, new ChannelBlockedConv(new Conv2dGeometry(128, 16, 28, 28, 16, 3, 3, PH: 1, PW: 1)).RunImages);
        // 64 channels of 18x18 padded: three images within 64 K floats.
        Assert.Equal(3, new ChannelBlockedConv(new Conv2dGeometry(128, 64, 16, 16, 128, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1)).RunImages);
        Assert.Equal(1, new ChannelBlockedConv(new Conv2dGeometry(128, 32, 7, 7, 32, 3, 3, PH: 1, PW: 1, G: 2)).RunImages);
    }
}
