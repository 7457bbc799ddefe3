using CnnLab.Kernels;
using CnnLab.Nn;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// The convolution as one GEMM per output pixel over the batch, only the taps inside the plane (<see cref="PixelGemmConv"/>),
/// pinned: every pass against <see cref="Conv2dReference"/> on odd shapes (2x2 and 4x4 planes, 3 channels, stride 2, 1x1,
/// 7x7 with padding 3, dilation, a stride that skips input pixels, padding wider than the kernel's reach), 1 and 2 threads the
/// same bits, db bit for bit against im2col's, the pixel-major layouts, the planner's choice and a finite-difference check.
/// </summary>
public class PixelGemmConvTests
{
    public static TheoryData<Conv2dGeometry> Shapes => new()
    {
        new Conv2dGeometry(20, 24, 2, 2, 40, 3, 3, PH: 1, PW: 1),                 // 2x2: 16 of 36 pairs
        new Conv2dGeometry(18, 3, 4, 4, 17, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1),   // 3 channels, stride 2: 25 of 36
        new Conv2dGeometry(17, 16, 5, 3, 8, 1, 1),                                // 1x1
        new Conv2dGeometry(9, 5, 3, 4, 6, 7, 7, PH: 3, PW: 3),                    // 7x7, padding 3
        new Conv2dGeometry(33, 8, 5, 5, 12, 3, 3, PH: 2, PW: 2, DH: 2, DW: 2),   // dilation
        new Conv2dGeometry(16, 6, 7, 7, 10, 1, 1, SH: 3, SW: 3),                  // a stride that skips input pixels
        new Conv2dGeometry(4, 4, 2, 3, 5, 3, 3, PH: 3, PW: 3),                    // outputs whose every tap is padding
    };

    private static float[] Values(long n, long seed) => ConvPassChecks.Values(n, seed);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Forward_matches_the_reference_and_not_the_thread_count(Conv2dGeometry g)
    {
        ConvPassChecks.ForwardMatchesTheReference(g, ConvAlgorithm.PixelGemm);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Backward_matches_the_reference_and_not_the_thread_count(Conv2dGeometry g)
    {
        ConvPassChecks.BackwardMatchesTheReference(g, ConvAlgorithm.PixelGemm);
    }

    [Fact]
    public void Images_get_the_same_bits_in_any_block()
    {
        // 130 images: a block of 128 (PixelGemmImages) and one of 2; each image alone must give the same bits.
        var g = new Conv2dGeometry(130, 20, 2, 2, 36, 3, 3, PH: 1, PW: 1);
        var x = Values(g.N * g.C * g.H * g.W, 12);
        var w = Values(g.OC * g.ColRows, 13);
        var y = new float[g.N * g.OC * g.ColCols];
        Conv2dKernel.Forward(g, x, w, [], false, y, algorithm: ConvAlgorithm.PixelGemm);
        int xImage = g.C * g.H * g.W, yImage = g.OC * g.ColCols;
        foreach (int n in new[] { 0, 77, 128, 129 })
        {
            var alone = new float[yImage];
            Conv2dKernel.Forward(g with { N = 1 }, x.AsSpan(n * xImage, xImage), w, [], false, alone, algorithm: ConvAlgorithm.PixelGemm);
            Assert.Equal(alone, y.AsSpan(n * yImage, yImage).ToArray());
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void The_pairs_inside_the_plane_are_counted_as_the_planner_counts_them(Conv2dGeometry g)
    {
        long inside = 0;
        for (int i = 0; i < g.OH; i++)
            for (int j = 0; j < g.OW; j++)
                for (int u = 0; u < g.KH; u++)
                    for (int v = 0; v < g.KW; v++)
                    {
                        int row = i * g.SH - g.PH + u * g.DH, col = j * g.SW - g.PW + v * g.DW;
                        if (row >= 0 && row < g.H && col >= 0 && col < g.W) inside++;
                    }
        Assert.Equal(inside, PixelGemmConv.CountPairs(g));
    }

    [Fact]
    public void A_forward_block_keeps_its_scratch_within_the_budget()
    {
        // A pinned layer on a large plane runs a few images a block; one image that alone needs more still runs.
        var big = PixelGemmConv.For(new Conv2dGeometry(4, 64, 128, 128, 64, 3, 3, PH: 1, PW: 1));
        Assert.Equal(8, big.BlockImages(128));   // 2 M floats an image
        Assert.Equal(1, PixelGemmConv.For(new Conv2dGeometry(1, 512, 256, 256, 512, 3, 3, PH: 1, PW: 1)).BlockImages(128));
        Assert.Equal(128, PixelGemmConv.For(new Conv2dGeometry(128, 384, 2, 2, 384, 3, 3, PH: 1, PW: 1)).BlockImages(128));
        Assert.Same(big, PixelGemmConv.For(new Conv2dGeometry(9, 64, 128, 128, 64, 3, 3, PH: 1, PW: 1)));   // one per shape
    }

    [Fact]
    public unsafe void Pixel_major_form_gathers_and_scatters_back()
    {
        int images = 19, channels = 3, pixels = 5;   // a full step of 16 images and a partial one of 3
        var planes = Values(images * channels * pixels, 14);
        var major = new float[planes.Length];
        var back = new float[planes.Length];
        var bias = Values(channels, 15);
        fixed (float* pp = planes, pm = major, pb = back, pbias = bias)
        {
            PixelMajor.Gather(pp, images, channels, pixels, pm);
            for (int n = 0; n < images; n++)
                for (int c = 0; c < channels; c++)
                    for (int a = 0; a < pixels; a++)
                        Assert.Equal(planes[(n * channels + c) * pixels + a], major[(a * channels + c) * images + n]);
            PixelMajor.Scatter(pm, images, channels, pixels, pbias, Rectifier.Relu, pb, add: false);
            for (int i = 0; i < planes.Length; i++) Assert.Equal(MathF.Max(planes[i] + bias[i / pixels % channels], 0), back[i]);
            PixelMajor.Scatter(pm, images, channels, pixels, null, default, pb, add: true);
            for (int i = 0; i < planes.Length; i++) Assert.Equal(MathF.Max(planes[i] + bias[i / pixels % channels], 0) + planes[i], back[i]);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Fused_blocks_that_the_planner_gives_pixel_GEMMs_train_as_im2col_does(bool batchNorm)
    {
        // 32 images of 64 channels on 4x4 → 2x2 at stride 2: the planner's pixel GEMMs for every pass, in Sequential's fused
        // conv (+ batch norm) + ReLU + max pool, and in the backward that masks dx by the ReLU before it.
        Assert.Equal(new ConvPlan(ConvAlgorithm.PixelGemm, ConvAlgorithm.PixelGemm, ConvAlgorithm.PixelGemm),
            ConvPlanner.Plan(new Conv2dGeometry(32, 64, 4, 4, 64, 3, 3, 2, 2, 1, 1)));
        (float[] Y, float[] Dx, float[] Dw) Run(ConvAlgorithm algorithm)
        {
            var gen = new Generator(17);
            var first = new Conv2d(8, 64, 3, padding: 1, generator: gen);
            var conv = new Conv2d(64, 64, 3, stride: 2, padding: 1, generator: gen) { Algorithm = algorithm };
            var net = batchNorm
                ? new Sequential(first, new ReLU(), conv, new BatchNorm2d(64), new ReLU(), new MaxPool2d(2))
                : new Sequential(first, new ReLU(), conv, new ReLU(), new MaxPool2d(2));
            var x = Tensor.Randn(gen, 32, 8, 4, 4).RequiresGrad_();
            var y = net.Forward(x);
            (y * Tensor.Randn(gen, y.Shape)).Sum().Backward();
            return (y.Data.ToArray(), x.Grad!.Data.ToArray(), conv.Weight.Grad!.Data.ToArray());
        }
        var pixels = Run(ConvAlgorithm.Auto);
        var im2col = Run(ConvAlgorithm.Im2ColGemm);
        foreach (var (a, b) in new[] { (pixels.Y, im2col.Y), (pixels.Dx, im2col.Dx), (pixels.Dw, im2col.Dw) })
        {
            float scale = Math.Max(1f, b.Max(MathF.Abs));
            for (int i = 0; i < a.Length; i++) Assert.Equal(b[i], a[i], 1e-4f * scale);
        }
    }

    [Fact]
    public void A_layer_by_pixel_GEMMs_passes_the_finite_difference_check()
    {
        var gen = new Generator(16);
        var conv = new Conv2d(5, 7, 3, stride: 2, padding: 1, generator: gen);
        var x = Tensor.Randn(gen, 3, 5, 4, 3);
        GradCheck.Check(t => Functional.Conv2d(t[0], t[1], t[2], stride: 2, padding: 1, algorithm: ConvAlgorithm.PixelGemm),
            [x, conv.Weight.Detach().Clone(), conv.Bias!.Detach().Clone()], what: "conv2d by pixel GEMMs");
    }
}
