using System.Runtime.Intrinsics.X86;
using CnnLab.Kernels;
using CnnLab.Nn;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests.Kernels;

/// <summary>The one convolution planner: its choices, its pins, and every algorithm it can pin against the reference.</summary>
public class ConvPlannerTests
{
    private static readonly ConvAlgorithm[] Concrete =
        [ConvAlgorithm.Im2ColGemm, ConvAlgorithm.Winograd, ConvAlgorithm.ChannelBlocked, ConvAlgorithm.SingleChannel, ConvAlgorithm.Depthwise,
         ConvAlgorithm.OutputRows, ConvAlgorithm.Winograd4x4, ConvAlgorithm.Winograd5x5, ConvAlgorithm.PixelGemm,
         ConvAlgorithm.WeightRows];

    // Odd shapes: 3 channels, stride 2, 1x1, 7x7 with padding 3, groups, dilation, one channel, depthwise with a multiplier.
    private static readonly Conv2dGeometry[] All =
    [
        new Conv2dGeometry(3, 3, 9, 11, 16, 3, 3, PH: 1, PW: 1),                    // 3 channels, Winograd-able, 16 outputs
        new Conv2dGeometry(2, 3, 13, 12, 32, 7, 7, SH: 2, SW: 2, PH: 3, PW: 3),     // a 7x7 stem, stride 2
        new Conv2dGeometry(2, 5, 7, 9, 16, 1, 1),                                   // pointwise
        new Conv2dGeometry(2, 8, 9, 9, 16, 1, 1, SH: 2, SW: 2),                     // 1x1, stride 2
        new Conv2dGeometry(2, 6, 10, 11, 12, 3, 3, PH: 2, PW: 2, DH: 2, DW: 2, G: 3), // groups and dilation
        new Conv2dGeometry(2, 1, 10, 9, 16, 3, 3, PH: 1, PW: 1),                    // one input channel
        new Conv2dGeometry(2, 6, 11, 10, 96, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1, G: 6), // depthwise, 16 outputs per channel
        new Conv2dGeometry(3, 16, 8, 7, 16, 3, 3, PH: 1, PW: 1, G: 1),              // 16 → 16 same
        new Conv2dGeometry(3, 1, 7, 13, 5, 3, 3, PH: 1, PW: 1),                     // one input channel, 5 outputs
        new Conv2dGeometry(2, 4, 9, 8, 4, 5, 5, PH: 4, PW: 4, DH: 2, DW: 2, G: 4),  // depthwise 5x5, dilated
        new Conv2dGeometry(2, 8, 9, 10, 32, 3, 3, PH: 2, PW: 2, DH: 2, DW: 2, G: 2), // 2 groups of 4 → 16, dilated
        new Conv2dGeometry(3, 16, 11, 9, 32, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1),     // stride 2, 16 input channels (direct dx)
        new Conv2dGeometry(2, 32, 10, 13, 16, 5, 3, SH: 3, SW: 2, PH: 2, PW: 0, DH: 2), // strides 3 and 2, dilated rows
        new Conv2dGeometry(2, 16, 10, 11, 16, 3, 3, SH: 1, SW: 3, PH: 1, PW: 1),   // strides 1 and 3: phases merged one by one
        new Conv2dGeometry(2, 16, 8, 8, 16, 1, 1, SH: 2, SW: 2),                    // 1x1 stride 2: odd pixels get nothing
        new Conv2dGeometry(2, 32, 9, 7, 48, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1),     // 32 channels per step and 16, both ways
        new Conv2dGeometry(2, 64, 7, 6, 48, 3, 3, PH: 2, PW: 2, DH: 2, DW: 2),     // stride 1, dilated: direct dx in pairs
        new Conv2dGeometry(2, 32, 16, 32, 16, 3, 3, PH: 1, PW: 1),                 // dx rows of 512 pixels (L1-aliasing), a pair
        new Conv2dGeometry(2, 64, 8, 9, 64, 3, 3, PH: 2, PW: 2, DH: 2, DW: 2, G: 4), // 4 groups of 16, dilated: direct dx per group
        new Conv2dGeometry(2, 3, 7, 9, 8, 5, 5, PH: 2, PW: 2),                    // 5x5 "same", 3 channels
        new Conv2dGeometry(3, 32, 6, 11, 32, 5, 5, PH: 2, PW: 2, G: 2),           // 5x5 "same", 2 groups of 16
    ];

    public static TheoryData<Conv2dGeometry> Geometries => new(All);

    [Fact]
    public void Auto_chooses_from_the_shapes()
    {
        var cnnSmallConv1 = new Conv2dGeometry(128, 1, 28, 28, 32, 3, 3, PH: 1, PW: 1);
        var cnnSmallConv2 = new Conv2dGeometry(128, 32, 14, 14, 64, 3, 3, PH: 1, PW: 1);
        var lenetConv2 = new Conv2dGeometry(128, 6, 14, 14, 16, 5, 5);
        var depthwise = new Conv2dGeometry(128, 32, 16, 16, 32, 3, 3, PH: 1, PW: 1, G: 32);
        var pointwise = new Conv2dGeometry(128, 32, 16, 16, 64, 1, 1);
        var big = new Conv2dGeometry(16, 3, 64, 64, 24, 7, 7, SH: 2, SW: 2, PH: 3, PW: 3);
        var im2col = ConvAlgorithm.Im2ColGemm;
        Assert.Equal(new ConvPlan(im2col, im2col, Avx512F.IsSupported ? ConvAlgorithm.ChannelBlocked : im2col), ConvPlanner.Plan(pointwise));
        if (Avx512F.IsSupported)
        {
            // A pointwise layer with few outputs on a plane whose rows lie 4 KB apart (the GEMM would pack them): output rows.
            Assert.Equal(ConvAlgorithm.OutputRows, ConvPlanner.Plan(new Conv2dGeometry(128, 64, 32, 32, 16, 1, 1)).Forward);
            Assert.Equal(ConvAlgorithm.OutputRows, ConvPlanner.Plan(new Conv2dGeometry(1, 128, 32, 32, 32, 1, 1)).Forward);
            // More outputs than inputs: up to 64 from an input of up to 64K floats.
            Assert.Equal(ConvAlgorithm.OutputRows, ConvPlanner.Plan(new Conv2dGeometry(128, 16, 32, 32, 64, 1, 1)).Forward);
            Assert.Equal(ConvAlgorithm.OutputRows, ConvPlanner.Plan(new Conv2dGeometry(128, 64, 32, 32, 64, 1, 1)).Forward);
            Assert.Equal(im2col, ConvPlanner.Plan(new Conv2dGeometry(128, 128, 32, 32, 64, 1, 1)).Forward);  // an input of 128K floats
            Assert.Equal(im2col, ConvPlanner.Plan(new Conv2dGeometry(32, 64, 64, 64, 64, 1, 1)).Forward);    // likewise 256K
            Assert.Equal(im2col, ConvPlanner.Plan(new Conv2dGeometry(64, 32, 32, 32, 128, 1, 1)).Forward);   // more than 64 outputs
            Assert.Equal(im2col, ConvPlanner.Plan(new Conv2dGeometry(128, 64, 16, 16, 16, 1, 1)).Forward);   // rows read in place
        }
        // 24 outputs at stride 2: output rows forward (the channel-blocked kernel would pad its second block of 16 by half), and
        // the channel-blocked kernel, padded so, for dW.
        var padded = Avx512F.IsSupported ? ConvAlgorithm.ChannelBlocked : im2col;
        Assert.Equal(new ConvPlan(Avx512F.IsSupported ? ConvAlgorithm.OutputRows : im2col, im2col, padded), ConvPlanner.Plan(big));
        Assert.Equal(new ConvPlan(ConvAlgorithm.Depthwise, ConvAlgorithm.Depthwise, ConvAlgorithm.Depthwise), ConvPlanner.Plan(depthwise));
        if (!Avx512F.IsSupported) return;
        Assert.Equal(new ConvPlan(ConvAlgorithm.SingleChannel, im2col, im2col), ConvPlanner.Plan(cnnSmallConv1));
        var wide = ConvAlgorithm.Winograd4x4;
        Assert.Equal(new ConvPlan(wide, wide, wide), ConvPlanner.Plan(cnnSmallConv2));
        Assert.Equal(new ConvPlan(ConvAlgorithm.ChannelBlocked, im2col, ConvAlgorithm.ChannelBlocked), ConvPlanner.Plan(lenetConv2));
        Assert.Equal("channel-blocked/im2col+GEMM/channel-blocked", ConvPlanner.Plan(lenetConv2).ToString());
        // Strided with fewer than 128 outputs: the direct input gradient, by phase rows where they fill their vectors; with 128
        // or more, im2col's GEMM, unless the direct one takes 32 input channels per step. At stride 1, where padding keeps the
        // size, the output-row kernel on dy where the input's rows fill their vectors, else the channel-blocked one with 32 per
        // step, groups or dilation.
        var (blocked, rows) = (ConvAlgorithm.ChannelBlocked, ConvAlgorithm.OutputRows);
        Assert.Equal(blocked, ConvPlanner.Plan(new Conv2dGeometry(128, 16, 14, 14, 32, 3, 3, 2, 2, 1, 1)).InputGradient);
        Assert.Equal(rows, ConvPlanner.Plan(new Conv2dGeometry(128, 16, 28, 28, 32, 3, 3, 2, 2, 1, 1)).InputGradient);
        Assert.Equal(im2col, ConvPlanner.Plan(new Conv2dGeometry(128, 48, 16, 16, 128, 3, 3, 2, 2, 1, 1)).InputGradient);
        Assert.Equal(blocked, ConvPlanner.Plan(new Conv2dGeometry(128, 64, 16, 16, 128, 3, 3, 2, 2, 1, 1)).InputGradient);
        // 2x2 outputs of a 4x4 plane (25 of 36 products inside): the pixel GEMMs from 64 channels and 32 images; below, im2col's
        // dx from 128 input channels, else the channel-blocked one.
        var pixels = ConvAlgorithm.PixelGemm;
        Assert.Equal(new ConvPlan(pixels, pixels, pixels), ConvPlanner.Plan(new Conv2dGeometry(128, 256, 4, 4, 384, 3, 3, 2, 2, 1, 1)));
        Assert.Equal(new ConvPlan(pixels, pixels, pixels), ConvPlanner.Plan(new Conv2dGeometry(32, 64, 4, 4, 128, 3, 3, 2, 2, 1, 1)));
        Assert.Equal(im2col, ConvPlanner.Plan(new Conv2dGeometry(16, 256, 4, 4, 384, 3, 3, 2, 2, 1, 1)).InputGradient);
        Assert.Equal(blocked, ConvPlanner.Plan(new Conv2dGeometry(128, 32, 4, 4, 128, 3, 3, 2, 2, 1, 1)).InputGradient);
        // 2x2 planes at stride 1: as few products as F(2x2, 3x3)'s one tile, at the GEMM's rate. 4x4: Winograd's 64 against 100,
        // but the pixel GEMMs' dW (the direct one's alternative); 8x8 at stride 2 (121 of 144 inside) its dW alone.
        Assert.Equal(new ConvPlan(pixels, pixels, pixels), ConvPlanner.Plan(new Conv2dGeometry(128, 384, 2, 2, 384, 3, 3, PH: 1, PW: 1)));
        Assert.Equal(new ConvPlan(ConvAlgorithm.Winograd, ConvAlgorithm.Winograd, pixels),
            ConvPlanner.Plan(new Conv2dGeometry(128, 256, 4, 4, 256, 3, 3, PH: 1, PW: 1)));
        Assert.Equal(new ConvPlan(blocked, blocked, pixels), ConvPlanner.Plan(new Conv2dGeometry(128, 128, 8, 8, 256, 3, 3, 2, 2, 1, 1)));
        Assert.Equal(new ConvPlan(blocked, blocked, blocked), ConvPlanner.Plan(new Conv2dGeometry(128, 128, 16, 16, 256, 3, 3, 2, 2, 1, 1)));
        Assert.Equal(rows, ConvPlanner.Plan(new Conv2dGeometry(128, 64, 16, 16, 64, 3, 3, PH: 2, PW: 2, DH: 2, DW: 2)).InputGradient);
        Assert.Equal(blocked, ConvPlanner.Plan(new Conv2dGeometry(128, 64, 12, 12, 64, 3, 3, PH: 2, PW: 2, DH: 2, DW: 2)).InputGradient);
        Assert.Equal(im2col, ConvPlanner.Plan(new Conv2dGeometry(128, 32, 12, 12, 64, 3, 3)).InputGradient);
        Assert.Equal(rows, ConvPlanner.Plan(new Conv2dGeometry(1, 16, 14, 14, 32, 5, 5, PH: 2, PW: 2)).InputGradient);
        Assert.Equal(rows, ConvPlanner.Plan(new Conv2dGeometry(128, 16, 14, 14, 32, 5, 5, PH: 4, PW: 4, DH: 2, DW: 2)).InputGradient);
        Assert.Equal(rows, ConvPlanner.Plan(new Conv2dGeometry(128, 64, 32, 32, 64, 3, 3, PH: 2, PW: 2, DH: 2, DW: 2, G: 4)).InputGradient);
        Assert.Equal(blocked, ConvPlanner.Plan(new Conv2dGeometry(128, 64, 12, 12, 64, 3, 3, PH: 2, PW: 2, DH: 2, DW: 2, G: 4)).InputGradient);
    }

    [Fact]
    public void Winograds_weight_gradient_needs_planes_of_36_tiles_where_the_direct_one_can_run()
    {
        if (!Avx512F.IsSupported) return;
        var small = ConvPlanner.Plan(new Conv2dGeometry(128, 32, 7, 7, 32, 3, 3, PH: 1, PW: 1));
        Assert.Equal(new ConvPlan(ConvAlgorithm.Winograd4x4, ConvAlgorithm.Winograd4x4, ConvAlgorithm.ChannelBlocked), small);
        var twelve = ConvPlanner.Plan(new Conv2dGeometry(128, 16, 12, 12, 64, 3, 3, PH: 1, PW: 1));
        Assert.Equal(new ConvPlan(ConvAlgorithm.Winograd4x4, ConvAlgorithm.Winograd4x4, ConvAlgorithm.Winograd), twelve);
        // With 64 inputs F(4x4, 3x3)'s weight gradient takes it (blocks of 72 tiles, all inside).
        Assert.Equal(ConvAlgorithm.Winograd4x4, ConvPlanner.Plan(new Conv2dGeometry(128, 64, 12, 12, 64, 3, 3, PH: 1, PW: 1)).WeightGradient);
        // 24 outputs: no direct weight gradient, so Winograd's stays.
        Assert.Equal(ConvAlgorithm.Winograd, ConvPlanner.Plan(new Conv2dGeometry(128, 16, 7, 7, 24, 3, 3, PH: 1, PW: 1)).WeightGradient);
    }

    [Theory]
    [InlineData(128, 64, 6, 8, 64, ConvAlgorithm.Winograd4x4)]    // 12 tiles of F(2x2, 3x3) against 4 wide ones
    [InlineData(128, 16, 5, 7, 16, ConvAlgorithm.Winograd4x4)]
    [InlineData(128, 32, 7, 5, 32, ConvAlgorithm.Winograd4x4)]
    [InlineData(128, 64, 6, 6, 64, ConvAlgorithm.Winograd)]       // 9 tiles against 4: as many products, F(2x2, 3x3)'s cheaper
    [InlineData(128, 64, 5, 6, 64, ConvAlgorithm.Winograd)]
    [InlineData(1, 64, 6, 8, 64, ConvAlgorithm.ChannelBlocked)]   // one image: no Winograd on so small a plane
    public void Wide_tiles_take_tiny_planes_with_a_side_of_7_or_8(int n, int c, int h, int w, int oc, ConvAlgorithm expected)
    {
        if (!Avx512F.IsSupported) return;
        var plan = ConvPlanner.Plan(new Conv2dGeometry(n, c, h, w, oc, 3, 3, PH: 1, PW: 1));
        Assert.Equal(expected, plan.Forward);
        if (n > 1) Assert.Equal(expected, plan.InputGradient);
    }

    [Theory]
    [InlineData(128, 64, 8, 8, 128, ConvAlgorithm.Winograd4x4)]   // tiles inside the plane, blocks of 8 images' 4 wide tiles
    [InlineData(128, 64, 7, 7, 64, ConvAlgorithm.Winograd4x4)]    // 64 channels on both sides: wide tiles on 7x7 too
    [InlineData(128, 48, 8, 8, 48, ConvAlgorithm.Winograd)]       // ... not with 48
    [InlineData(32, 64, 8, 8, 64, ConvAlgorithm.Winograd)]        // blocks of 2 images
    [InlineData(128, 32, 8, 8, 32, ConvAlgorithm.Winograd)]
    [InlineData(128, 64, 6, 6, 64, ConvAlgorithm.Winograd)]       // 9 tiles, all inside
    [InlineData(128, 48, 7, 7, 48, ConvAlgorithm.Winograd)]       // a quarter of the tiles' pixels outside: 48 channels
    [InlineData(128, 32, 7, 7, 32, ConvAlgorithm.ChannelBlocked)] // ... not 32
    [InlineData(128, 64, 5, 5, 64, ConvAlgorithm.PixelGemm)]      // 9 tiles, two thirds inside: 75 % of the direct products
    [InlineData(128, 128, 4, 4, 128, ConvAlgorithm.PixelGemm)]    // 4 tiles: 69 %
    [InlineData(8, 64, 7, 7, 64, ConvAlgorithm.ChannelBlocked)]   // blocks of one image
    [InlineData(128, 16, 8, 8, 16, ConvAlgorithm.ChannelBlocked)] // 16 channels
    public void Winograds_weight_gradient_takes_small_planes_with_many_channels(int n, int c, int h, int w, int oc, ConvAlgorithm expected)
    {
        if (!Avx512F.IsSupported) return;
        Assert.Equal(expected, ConvPlanner.Plan(new Conv2dGeometry(n, c, h, w, oc, 3, 3, PH: 1, PW: 1)).WeightGradient);
    }

    [Fact]
    public void A_strided_one_by_one_convolution_keeps_im2cols_input_gradient()
    {
        if (!Avx512F.IsSupported) return;
        // Over the channel-blocked dx; on planes whose phase rows fill their vectors the output-row dx takes it (its own tests).
        var shortcut = ConvPlanner.Plan(new Conv2dGeometry(128, 32, 14, 14, 64, 1, 1, 2, 2));
        Assert.Equal(new ConvPlan(ConvAlgorithm.ChannelBlocked, ConvAlgorithm.Im2ColGemm, ConvAlgorithm.ChannelBlocked), shortcut);
        Assert.Equal(ConvAlgorithm.OutputRows, ConvPlanner.Plan(new Conv2dGeometry(128, 16, 28, 28, 32, 3, 3, 2, 2, 1, 1)).InputGradient);
    }

    [Fact]
    public void One_image_of_few_tiles_channels_or_tiles_a_row_is_too_little_for_winograd()
    {
        if (!Avx512F.IsSupported) return;
        // Its rows of 14 fill 7/8 of a vector, and 16 outputs would take the channel-blocked kernel's 16-channel steps.
        Assert.Equal(ConvAlgorithm.OutputRows, ConvPlanner.Plan(new Conv2dGeometry(1, 16, 14, 14, 16, 3, 3, PH: 1, PW: 1)).Forward);
        Assert.Equal(ConvAlgorithm.Winograd4x4, ConvPlanner.Plan(new Conv2dGeometry(2, 16, 14, 14, 16, 3, 3, PH: 1, PW: 1)).Forward);
        Assert.Equal(ConvAlgorithm.Winograd, ConvPlanner.Plan(new Conv2dGeometry(1, 16, 28, 28, 16, 3, 3, PH: 1, PW: 1)).Forward);
        Assert.Equal(ConvAlgorithm.Winograd, ConvPlanner.Plan(new Conv2dGeometry(1, 32, 14, 14, 64, 3, 3, PH: 1, PW: 1)).Forward);
        // 25 tiles: 32 channels are enough (800), 16 are not (400).
        Assert.Equal(ConvAlgorithm.Winograd, ConvPlanner.Plan(new Conv2dGeometry(1, 32, 10, 10, 64, 3, 3, PH: 1, PW: 1)).Forward);
        Assert.NotEqual(ConvAlgorithm.Winograd, ConvPlanner.Plan(new Conv2dGeometry(1, 16, 10, 10, 32, 3, 3, PH: 1, PW: 1)).Forward);
        Assert.Equal(ConvAlgorithm.Winograd, ConvPlanner.Plan(new Conv2dGeometry(1, 64, 14, 14, 64, 3, 3, PH: 1, PW: 1)).Forward);
        Assert.Equal(ConvAlgorithm.Winograd, ConvPlanner.Plan(new Conv2dGeometry(1, 64, 10, 10, 64, 3, 3, PH: 1, PW: 1)).Forward);
        // One image of a plane 8 wide or less has at most 16 tiles: too few for Winograd, whatever the channels.
        Assert.Equal(ConvAlgorithm.ChannelBlocked, ConvPlanner.Plan(new Conv2dGeometry(1, 128, 8, 8, 128, 3, 3, PH: 1, PW: 1)).Forward);
        Assert.Equal(ConvAlgorithm.Winograd4x4, ConvPlanner.Plan(new Conv2dGeometry(2, 128, 8, 8, 128, 3, 3, PH: 1, PW: 1)).Forward);
    }

    [Fact]
    public void One_image_with_kept_weights_takes_wide_tiles_from_13x13_small_tiles_on_8x8_and_the_5x5_tiles_from_16_channels()
    {
        if (!Avx512F.IsSupported) return;
        static ConvAlgorithm Kept(Conv2dGeometry g) => ConvPlanner.Plan(g, weightsKept: true).Forward;
        Assert.Equal(ConvAlgorithm.Winograd4x4, Kept(new Conv2dGeometry(1, 16, 14, 14, 16, 3, 3, PH: 1, PW: 1)));
        Assert.Equal(ConvAlgorithm.Winograd4x4, Kept(new Conv2dGeometry(1, 32, 13, 13, 64, 3, 3, PH: 1, PW: 1)));
        Assert.Equal(ConvAlgorithm.Winograd4x4, Kept(new Conv2dGeometry(1, 32, 56, 56, 32, 3, 3, PH: 1, PW: 1)));
        Assert.Equal(ConvAlgorithm.Winograd5x5, Kept(new Conv2dGeometry(1, 16, 28, 28, 16, 5, 5, PH: 2, PW: 2)));
        Assert.Equal(ConvAlgorithm.Winograd5x5, Kept(new Conv2dGeometry(1, 64, 8, 8, 64, 5, 5, PH: 2, PW: 2)));
        // F(2x2, 3x3) on 8x8 planes (16 whole tiles) from 32 channels.
        Assert.Equal(ConvAlgorithm.Winograd, Kept(new Conv2dGeometry(1, 128, 8, 8, 128, 3, 3, PH: 1, PW: 1)));
        Assert.Equal(ConvAlgorithm.Winograd, Kept(new Conv2dGeometry(1, 32, 8, 8, 48, 3, 3, PH: 1, PW: 1)));
        // 12x12 tied, 10x10 and the other small planes lost; fewer channels, planes too wide or a batch: as without kept weights.
        Conv2dGeometry[] unchanged =
        [
            new(1, 32, 12, 12, 32, 3, 3, PH: 1, PW: 1), new(1, 32, 10, 10, 64, 3, 3, PH: 1, PW: 1), new(1, 64, 6, 6, 64, 3, 3, PH: 1, PW: 1),
            new(1, 80, 5, 7, 96, 3, 3, PH: 1, PW: 1), new(1, 256, 4, 4, 256, 3, 3, PH: 1, PW: 1), new(1, 64, 7, 7, 64, 3, 3, PH: 1, PW: 1),
            new(1, 16, 8, 8, 64, 3, 3, PH: 1, PW: 1), new(1, 8, 28, 28, 16, 3, 3, PH: 1, PW: 1), new(1, 16, 28, 28, 8, 5, 5, PH: 2, PW: 2),
            new(1, 16, 70, 70, 16, 3, 3, PH: 1, PW: 1), new(4, 16, 14, 14, 16, 3, 3, PH: 1, PW: 1), new(4, 16, 28, 28, 16, 5, 5, PH: 2, PW: 2),
        ];
        foreach (var g in unchanged) Assert.Equal(ConvPlanner.Plan(g), ConvPlanner.Plan(g, weightsKept: true));
        // Only the forward: dx and dW are made in training, whose weights change every step.
        var single = new Conv2dGeometry(1, 16, 14, 14, 16, 3, 3, PH: 1, PW: 1);
        Assert.Equal(ConvPlanner.Plan(single) with { Forward = ConvAlgorithm.Winograd4x4 }, ConvPlanner.Plan(single, weightsKept: true));
        // A pin is a pin.
        Assert.Equal(ConvAlgorithm.Winograd, ConvPlanner.Plan(single, ConvAlgorithm.Winograd, weightsKept: true).Forward);
    }

    [Fact]
    public void A_pin_is_taken_for_every_pass_that_has_it_and_im2col_for_the_others()
    {
        var g = new Conv2dGeometry(2, 6, 14, 14, 16, 5, 5);
        var im2col = ConvAlgorithm.Im2ColGemm;
        Assert.Equal(new ConvPlan(im2col, im2col, im2col), ConvPlanner.Plan(g, im2col));
        if (!Avx512F.IsSupported) return;
        var blocked = ConvAlgorithm.ChannelBlocked;
        Assert.Equal(new ConvPlan(blocked, im2col, blocked), ConvPlanner.Plan(g, blocked));
        var few = new Conv2dGeometry(2, 3, 8, 8, 4, 3, 3, PH: 1, PW: 1);   // below Winograd's break-even, but it can run
        Assert.NotEqual(ConvAlgorithm.Winograd, ConvPlanner.Plan(few).Forward);
        var winograd = ConvAlgorithm.Winograd;
        Assert.Equal(new ConvPlan(winograd, winograd, winograd), ConvPlanner.Plan(few, winograd));
    }

    [Fact]
    public void Pinning_an_algorithm_the_shapes_cannot_run_is_an_error_that_says_why()
    {
        var strided = new Conv2dGeometry(2, 16, 14, 14, 16, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1);
        var e = Assert.Throws<ArgumentException>(() => ConvPlanner.Plan(strided, ConvAlgorithm.Winograd));
        Assert.Contains("Winograd cannot run", e.Message);
        Assert.Contains("stride (2, 2)", e.Message);
        Assert.Throws<ArgumentException>(() => ConvPlanner.Plan(strided, ConvAlgorithm.Depthwise));
        Assert.Throws<ArgumentException>(() => ConvPlanner.Plan(new Conv2dGeometry(2, 3, 8, 8, 8, 3, 3), ConvAlgorithm.SingleChannel));

        var conv = new Conv2d(16, 16, 3, stride: 2, padding: 1, generator: new Generator(1)) { Algorithm = ConvAlgorithm.Winograd };
        var thrown = Assert.Throws<ArgumentException>(() => conv.Forward(Tensor.Randn(new Generator(2), 1, 16, 8, 8)));
        Assert.Contains("Winograd", thrown.Message);
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Every_algorithm_that_can_run_matches_the_reference_for_any_thread_count(Conv2dGeometry g)
    {
        var gen = new Generator(g.C * 31 + g.OC);
        float[] x = Values(gen, g.N * g.C * g.H * g.W), w = Values(gen, g.OC * g.ColRows), b = Values(gen, g.OC);
        float[] dy = Values(gen, g.N * g.OC * g.ColCols);
        var yRef = new float[dy.Length];
        Conv2dReference.Forward(g, x, w, b, true, yRef);
        float[] dxRef = new float[x.Length], dwRef = new float[w.Length], dbRef = new float[b.Length];
        Conv2dReference.Backward(g, x, w, dy, dxRef, dwRef, dbRef);
        foreach (var algorithm in Concrete.Where(a => ConvPlanner.CanRun(a, g)))
        {
            float[]? first = null;
            foreach (int threads in new[] { 1, 2 })
            {
                var y = new float[dy.Length];
                float[] dx = new float[x.Length], dw = new float[w.Length], db = new float[b.Length];
                using (ThreadCount.Use(threads))
                {
                    Conv2dKernel.Forward(g, x, w, b, true, y, algorithm: algorithm);
                    Conv2dKernel.Backward(g, x, w, dy, dx, dw, db, overwriteDx: true, algorithm: algorithm);
                }
                Conv2dKernelTests.AssertClose(yRef, y, $"{algorithm} forward {g}", algorithm);
                Conv2dKernelTests.AssertClose(dxRef, dx, $"{algorithm} dx {g}", algorithm);
                Conv2dKernelTests.AssertClose(dwRef, dw, $"{algorithm} dW {g}", algorithm);
                Conv2dKernelTests.AssertClose(dbRef, db, $"{algorithm} db {g}");
                // dx added to what is there, as a second consumer of x would have it.
                var added = Enumerable.Repeat(0.5f, x.Length).ToArray();
                using (ThreadCount.Use(threads)) Conv2dKernel.Backward(g, x, w, dy, added, [], [], algorithm: algorithm);
                Conv2dKernelTests.AssertClose(dxRef.Select(v => v + 0.5f).ToArray(), added, $"{algorithm} dx += {g}", algorithm);
                float[] all = [.. y, .. dx, .. dw, .. db];
                if (first is null) first = all;
                else Assert.Equal(first, all);   // the same bits for one thread and two
            }
        }
    }

    [Fact]
    public void The_geometries_above_give_every_algorithm_a_run()
    {
        foreach (var algorithm in Avx512F.IsSupported ? Concrete : [ConvAlgorithm.Im2ColGemm, ConvAlgorithm.Depthwise])
            Assert.True(All.Count(g => ConvPlanner.CanRun(algorithm, g)) >= 2, $"{algorithm} runs on fewer than two of them");
    }

    [Theory]
    [InlineData(ConvAlgorithm.Winograd)]
    [InlineData(ConvAlgorithm.Winograd4x4)]
    [InlineData(ConvAlgorithm.ChannelBlocked)]
    [InlineData(ConvAlgorithm.OutputRows)]
    [InlineData(ConvAlgorithm.Im2ColGemm)]
    [InlineData(ConvAlgorithm.PixelGemm)]
    [InlineData(ConvAlgorithm.WeightRows)]
    public void A_pinned_layer_passes_the_finite_difference_check(ConvAlgorithm algorithm)
    {
        if (algorithm is not (ConvAlgorithm.Im2ColGemm or ConvAlgorithm.PixelGemm) && !Avx512F.IsSupported) return;
        var gen = new Generator(7);
        var conv = new Conv2d(3, 16, 3, padding: 1, generator: gen) { Algorithm = algorithm };
        var x = Tensor.Randn(gen, 2, 3, 5, 6);
        GradCheck.Check(t => Functional.Conv2d(t[0], t[1], t[2], padding: 1, algorithm: algorithm),
            [x, conv.Weight.Detach().Clone(), conv.Bias!.Detach().Clone()], what: $"conv2d by {algorithm}");
    }

    internal static float[] Values(Generator gen, int n)
    {
        var v = new float[n];
        gen.FillNormal(v, 0f, 1f);
        return v;
    }
}
