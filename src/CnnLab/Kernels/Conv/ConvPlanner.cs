namespace CnnLab.Kernels;

/// <summary>
/// The one place that decides how a convolution runs. For a geometry it chooses the algorithm of each pass
/// (<see cref="ConvPlan"/>) by a cost model whose break-even points were measured on this library's kernels
/// (bench/CONV-BOUNDS.md, bench/RESULTS.md): the forward, the backward, the fused ops, inference and
/// <c>cnnlab bench --convs</c> all ask it. A pinned algorithm is taken for every pass that has it, and
/// im2col + GEMM for the others; pinning one the geometry cannot run is an error, never a silent fallback.
/// </summary>
/// <remarks>PyTorch: <c>torch.backends.cudnn</c>'s heuristic algorithm choice (benchmark=False) plays this role.</remarks>
public static partial class ConvPlanner
{
    /// <summary>
    /// The algorithms of y, dx and dW for <paramref name="g"/> (of the batch size, only a batch of one changes the choice).
    /// <paramref name="weightsKept"/>: the forward's prepared weights are kept between calls (inference, <see cref="ConvPlanCache"/>),
    /// so a single image need not pay for preparing them on every call.
    /// </summary>
    public static ConvPlan Plan(in Conv2dGeometry g, ConvAlgorithm pinned = ConvAlgorithm.Auto, bool weightsKept = false)
    {
        if (pinned == ConvAlgorithm.Auto) return new(ChooseForward(g, weightsKept), ChooseInputGradient(g), ChooseWeightGradient(g));
        if (!CanRun(pinned, g))
            throw new ArgumentException($"convolution algorithm {pinned} cannot run {Describe(g)}: it needs {Requirement(pinned)}");
        return new(pinned, HasInputGradient(pinned, g) ? pinned : ConvAlgorithm.Im2ColGemm,
            HasWeightGradient(pinned) ? pinned : ConvAlgorithm.Im2ColGemm);
    }

    /// <summary>Whether <paramref name="algorithm"/> can compute this convolution at all (on this CPU): its forward at least, so a
    /// pinned algorithm always runs the forward.</summary>
    public static bool CanRun(ConvAlgorithm algorithm, in Conv2dGeometry g) => algorithm switch
    {
        ConvAlgorithm.Auto or ConvAlgorithm.Im2ColGemm => true,
        ConvAlgorithm.Winograd => Winograd3x3.Supports(g),
        ConvAlgorithm.Winograd4x4 => Winograd4x4.Supports(g),
        ConvAlgorithm.Winograd5x5 => Winograd5x5.Supports(g),
        ConvAlgorithm.ChannelBlocked => ChannelBlockedConv.Supports(g),
        ConvAlgorithm.SingleChannel => SingleChannelConv3x3.Supports(g),
        ConvAlgorithm.Depthwise => DepthwiseConv.Supports(g),
        ConvAlgorithm.OutputRows => OutputRowConv.Supports(g),
        ConvAlgorithm.PixelGemm => PixelGemmConv.Supports(g),
        ConvAlgorithm.WeightRows => WeightRowConv.Supports(g),
        ConvAlgorithm.WinogradGemm => WinogradGemm.Supports(g),
        _ => false,
    };

    /// <summary>
    /// Whether relu(conv) → 2x2 max pool runs as the direct one-channel kernel that keeps a byte per pooled output
    /// (<see cref="ConvReluMaxPoolSingleChannel"/>; it has no dx, so the caller asks only when x needs none).
    /// </summary>
    public static bool PoolsSingleChannel(in Conv2dGeometry g, in Pool2dGeometry pool, ConvAlgorithm pinned = ConvAlgorithm.Auto) =>
        (pinned is ConvAlgorithm.Auto or ConvAlgorithm.SingleChannel) && ConvReluMaxPoolSingleChannel.Supports(g, pool);

    // The cost model; the timings behind every threshold are in bench/RESULTS.md ("How the planner now chooses" and the older table).
    // Winograd does 2.25x fewer multiplies than a direct sum but adds transforms per tile and channel: for a single image,
    // with fewer than MinWinogradChannels on either side the products' sums or rows are too short for them to pay off (a
    // batch takes it from MinBatchedWinogradChannels). A single image needs
    // tiles × channels of at least MinWinogradWork to keep its products wide enough (16→16 on 12x12, 576, and 16→32 on
    // 10x10, 400, were slower than the channel-blocked kernel, 16→16 on 14x14, 784, than the output-row one; 32→64 on 10x10,
    // 800, and 32→32 on 12x12, 1,152, faster than either), and
    // rows of at least MinWinogradRowTiles tiles: a plane 8 wide or less has at most 16 tiles, one vector a position, too
    // few for the multiply's passes to pay for the transforms (64→64 on 8x8 slower by 12 %, on 7x7 by 34 %).
    internal const int MinWinogradChannels = 16, MinWinogradWork = 800, MinWinogradRowTiles = 5;

    // A batch takes it from 8 channels on both sides: its kernels have since run faster than the direct and im2col paths
    // there, which with fewer than 16 outputs or inputs per group fall back to narrow steps or the GEMM. F(4x4, 3x3) against
    // the planner's earlier choice, batch 128 (bench/RESULTS.md, "Fewer than 16 channels"): 8→8 on 28x28 forward 0.66 →
    // 0.56 ms, dx 0.72 → 0.58, dW 2.07 → 0.60; 12→32 forward 3.77 → 2.29, dx 5.56 → 2.86; 8→8 on 14x14 dW 0.51 → 0.16.
    // With 3 or 4 inputs the output-row forward kept up, and with 4 outputs dx was no faster.
    internal const int MinBatchedWinogradChannels = 8;

    // The channel-blocked direct kernel runs at about the same rate whatever the shape. With 32 outputs per step (a
    // multiple of 32 outputs per group) it beat im2col + GEMM on every shape measured; with 16 per step, im2col + GEMM
    // wins where the sum (R taps), the plane (P pixels) and the outputs per group all fill the GEMM's tiles: R ≥ 640 with
    // P ≥ 256, or (its forward only) R ≥ 128 with P ≥ 1024, with at least 64 outputs per group.
    internal const int GemmTaps = 640, GemmPixels = 256, GemmWidePixels = 1024, GemmWideTaps = 128, GemmRows = 64;

    private static bool PairsChannels(int channels) => channels % (2 * ChannelBlockedConv.Lanes) == 0;

    // The channel-blocked kernel without padded lanes (the rules below were measured on whole blocks).
    private static bool WholeBlocks(in Conv2dGeometry g) => ChannelBlockedConv.Supports(g) && ChannelBlockedConv.FillsBlocks(g);

    // With output channels that do not fill its blocks of 16 (one group), the last block padded: at a stride above 1 it beat
    // im2col + GEMM forward and as dW on every shape measured, 2 to 72 outputs (24→24 on 40x56 forward 7.9 → 5.7 ms, dW 10.1
    // → 4.8; 12→24 on 16x16 0.79 → 0.34, 0.95 → 0.32; 64→72 on 14x14 5.7 → 3.2, 5.6 → 2.9; 24→2 on 40x56 5.8 → 4.8, 7.7 →
    // 3.6), where im2col's columns cost more than the GEMM. At stride 1 its dW still won wherever im2col's was the choice
    // (16→24 7x7 16.2 → 10.7, 1x1 16→24 0.32 → 0.19, 48→40 2.4 → 2.0, 3→24 5x5 5.1 → 3.1), but its forward lost to
    // im2col + GEMM with few taps (3→24 on 20x20 0.46 against 0.57) and to the output-row kernel (bench/RESULTS.md, "Output
    // channels that do not fill a block").
    private static bool PaddedBlocksPay(in Conv2dGeometry g) =>
        ChannelBlockedConv.Supports(g) && !ChannelBlockedConv.FillsBlocks(g) && g.Cg > 1;

    // Column matrices of at most this many rows (a one-channel 3x3 or 5x5) keep im2col's dot-product weight gradient.
    internal const int DotProductRows = 32;

    // With many outputs per channel the per-channel GEMM [M, KH·KW]·[KH·KW, P] is as wide as an ordinary one.
    internal const int MaxDepthwiseMultiplier = 8;

    private static bool WinogradPays(in Conv2dGeometry g) =>
        Winograd3x3.Supports(g) && (g.N != 1
            ? g.Cg >= MinBatchedWinogradChannels && g.OCg >= MinBatchedWinogradChannels
            : g.Cg >= MinWinogradChannels && g.OCg >= MinWinogradChannels && (g.W + 1) / 2 >= MinWinogradRowTiles
              && Winograd3x3.Tiles(g.H, g.W) * Math.Min(g.Cg, g.OCg) >= MinWinogradWork);

    // F(4x4, 3x3) does 36 products per 16 outputs against F(2x2, 3x3)'s 16 per 4, and its transforms cost about as much per
    // output once a vector holds several tile rows. It beat F(2x2, 3x3) on every batched plane from 10x10 to 56x56 measured
    // (16 to 64 channels, by 13-35 %), and on tiny planes (2x2 tiles, 4 images' planes a vector) with a side of 7 or 8:
    // there F(2x2, 3x3) takes 12 or 16 tiles, 192 or 256 products a channel pair to F(4x4, 3x3)'s 144. Forward and as dx
    // it won by 20-40 % on 7x7 and 8x8, by 20-36 % on 5x7, 5x8, 6x7 and 6x8 (16 to 64 channels). Where both take 144
    // (5x5 to 6x6, 9 tiles of F(2x2, 3x3)) it lost with 64 and more channels (6x6 by 8-40 %, 5x6 by 12 %), and it loses on
    // single images, whose weights, transformed per call, are 36 positions instead of 16 (bench/RESULTS.md, "Winograd
    // F(4x4, 3x3)" and "F(4x4, 3x3)'s weight gradient on 2x2 tiles").
    internal const int MinWideTileWidth = 9, MinTinySide = 7;

    private static bool WideTilesPay(in Conv2dGeometry g) =>
        Winograd4x4.Supports(g) && g.N != 1
        && (g.W >= MinWideTileWidth || Winograd4x4.IsTiny(g.H, g.W) && Math.Max(g.H, g.W) >= MinTinySide);

    // Its weight gradient sums each position's products over a block's tiles, four times fewer than F(2x2, 3x3)'s. With
    // up to 16 input channels (dot products along the tiles) it pays where a block holds at least MinWideWeightGradientTiles
    // of them (a block is at most a sixteenth of the batch) and MinTurnedInside of the tiles' outputs lie inside the plane
    // (14x14 and up; 16→32 on 14x14 1.22 → 0.83 ms, 8→64 1.10 → 0.98-1.04, 12→32 0.84 → 0.67; 16→32 on 10x10, 69 % inside,
    // lost: 0.55 → 0.65). With more, its products run as the
    // forward's (WinogradWeightGradient.AddDots) and it paid on blocks of MinTurnedBlockTiles from 75 % inside (14x14) and 9
    // tiles an image: dx and dW together, 32→32 on 14x14 3.44 → 2.87 ms, 64→64 10.1 → 9.3, 32→64 (cnn-small's conv2) 5.71 →
    // 5.29; 32→32 on 28x28 at batch 32 2.97 → 2.53, 14x14 at batch 64 1.72 → 1.50. On 10x10 (69 % inside) it lost with 48 to
    // 128 channels by 5-15 %. On planes of 2x2 tiles (7x7, 8x8) it pays with MinTinyTurnedChannels on both sides, beside
    // F(4x4, 3x3)'s dx as training runs them: backward 64→64 on 7x7 3.42-3.66 → 3.01-3.24 ms, on 8x8 3.44-3.64 → 3.10,
    // 128→128 by 3-10 %, 64→128 on 7x7 by 3-8 %; it tied with 48 and lost with 32 (on 8x8 by 6 %).
    internal const int MinWideWeightGradientTiles = 128, MinTurnedBlockTiles = 32, MinTurnedInside = 75, MinTurnedTiles = 9;
    internal const int MinTinyTurnedChannels = 64;

    private static bool WideWeightGradientPays(in Conv2dGeometry g)
    {
        if (!WideTilesPay(g)) return false;
        int tiles = Winograd4x4.Tiles(g.H, g.W);
        long inside = 100L * g.H * g.W / (16L * tiles);   // percent of the tiles' outputs that lie in the plane
        if (inside < MinTurnedInside) return false;
        if (g.Cg <= MinWinogradChannels) return BlockTiles(g, tiles) >= MinWideWeightGradientTiles;
        return BlockTiles(g, tiles) >= MinTurnedBlockTiles
            && (tiles >= MinTurnedTiles || Winograd4x4.IsTiny(g.H, g.W) && Math.Min(g.Cg, g.OCg) >= MinTinyTurnedChannels);
    }

    // The tiles a Winograd weight gradient's block sums over, at least: a block holds at most a chunk's images (a sixteenth of
    // the batch, or an eighth for a large partial: ConvBackwardPass) and at most 16.
    private static long BlockTiles(in Conv2dGeometry g, int tilesPerImage) =>
        (long)Math.Clamp(g.N / ConvBackwardPass.WeightGradientChunks, 1, 16) * tilesPerImage;

    // F(2x2, 5x5) does 36 products per 4 outputs against the direct kernels' 100. With 32 or more channels on both sides it beat
    // them by 23-45 % forward and as dx on every batched plane measured (8x8 to 16x16). Measured again with this week's
    // kernels (bench/RESULTS.md, "Fewer than 16 channels"), it won from 8: 16→16 on 28x28 forward 6.2-6.3 → 4.6-5.0 ms, dx
    // 6.7-6.8 → 4.7; 16→32 on 14x14 forward 2.7 → 1.9; 8→16 on 16x16 forward 0.99 → 0.72, dx 1.01 → 0.83; 8→8 on 28x28
    // 1.62-1.64 → 1.56. Single images would transform the weights for each.
    internal const int MinWinograd5x5Channels = 8;

    private static bool Winograd5x5Pays(in Conv2dGeometry g) =>
        Winograd5x5.Supports(g) && g.N != 1 && Math.Min(g.Cg, g.OCg) >= MinWinograd5x5Channels;

    // Its weight gradient beat the channel-blocked one from 16 channels on (by 18-46 %) where a block holds at least
    // MinWideWeightGradientTiles tiles, and tied on smaller blocks (64→64 on 8x8, batch 64: 64 tiles); with 8 it beat the
    // planner's earlier choice by 1.5-2.9× (8→8 on 28x28 4.96-5.02 → 1.73-1.75 ms, 8→16 on 16x16 1.27 → 0.84-0.86).
    private static bool Winograd5x5WeightGradientPays(in Conv2dGeometry g) =>
        Winograd5x5.Supports(g) && g.N != 1 && Math.Min(g.Cg, g.OCg) >= MinBatchedWinogradChannels
        && BlockTiles(g, Winograd5x5.Tiles(g.H, g.W)) >= MinWideWeightGradientTiles;

    private static bool DepthwisePays(in Conv2dGeometry g) => DepthwiseConv.Supports(g) && g.OCg <= MaxDepthwiseMultiplier;

    // The output-row kernel fills its lanes with a row's pixels and its steps with 8 output channels: it pays where rows fill at
    // least 7/8 of their vectors (14, 15, 16, 28 … wide) and the output channels 3/4 of their blocks of 8, against im2col + GEMM
    // everywhere and against the channel-blocked kernel where that takes 16 channels a step (17 loads per 16 FMAs) or the plane
    // has at least OutputRowPixels pixels: with 32 channels a step on smaller planes the channel-blocked forward was faster. Run
    // as dx (a forward on dy), it tied or won against the channel-blocked dx from 16x16 planes on (bench/RESULTS.md, "The
    // output-row direct convolution"). At a stride of 2 (column phases) it won where the channel-blocked kernel pads its lanes
    // or on planes of OutputRowPixels, and lost on smaller ones with 16 channels a step as well (bench/RESULTS.md, "Depthwise
    // layers finish dx in cache, output rows at stride 2").
    internal const int OutputRowPixels = 1024, OutputRowInputGradientPixels = 256;

    private static bool OutputRowsPay(in Conv2dGeometry g, int pixelsAgainstPairs) =>
        OutputRowConv.Supports(g) && !g.IsPointwise && RowsFillLanes(g.OW, g.OCg)
        && (!WholeBlocks(g) || g.SH == 1 && g.SW == 1 && !PairsChannels(g.OCg) || g.ColCols >= pixelsAgainstPairs);

    // The output-row kernels' lanes: rows of `rowPixels` fill at least 7/8 of their 16-lane vectors and `channels` at least 3/4
    // of their blocks of 8.
    private static bool RowsFillLanes(int rowPixels, int channels) =>
        8 * rowPixels >= 7 * ((rowPixels + 15) / 16 * 16) && 4 * channels >= 3 * ((channels + 7) / 8 * 8);

    // A pointwise forward is a GEMM on the input itself, which packs the input's rows where they lie 4 KB apart (planes of a
    // multiple of 1,024 pixels). With few output rows the packing is not paid back, and the output-row kernel, which reads each
    // input row once, won (batch 128, ms): on 32x32 64→16 6.15 → 4.70, 32→16 2.85 → 1.97, 16→16 1.18 → 1.01, 64→24 7.18 →
    // 5.60, 48→32 6.74 → 5.92, 64→32 8.37 → 7.32, 128→32 17.5 → 13.0; on 64x64 (batch 32) 64→16 5.83 → 4.80, 32→32 4.23
    // against 4.39. Since it stores one block of outputs at a time it also wins with more outputs than inputs, up to 64 from an
    // input of up to 64K floats (on 32x32, batch 128: 16→32 2.08 → 1.81, 16→64 4.22 → 3.90, 32→64 6.87 → 6.71, 64→64 12.3 →
    // 11.7; on 64x64 16→64 3.99 → 3.75); past that it tied (32→128, 64→256, 128→128) or lost (64→64 on 64x64 12.6 against
    // 13.9). Where the GEMM reads the rows in place it lost (16x16: 32→128 7.2 against 9.6 at batch 256, 32→32 0.69 against 0.77).
    internal const int MaxPointwiseRowOutputs = 32, MaxWidePointwiseRowOutputs = 64, MaxWidePointwiseRowInput = 1 << 16;

    private static bool PointwiseRowsPay(in Conv2dGeometry g) =>
        g.IsPointwise && OutputRowConv.Supports(g) && g.ColCols % Conv2dKernel.PackedPointwisePixels == 0 && RowsFillLanes(g.OW, g.OCg)
        && (g.OCg <= MaxPointwiseRowOutputs && g.Cg >= g.OCg
            || g.OCg <= MaxWidePointwiseRowOutputs && (long)g.Cg * g.H * g.W <= MaxWidePointwiseRowInput);

    // As for the direct dx below, only where dx has few more pixels than dy: the loop multiplies the zeros around dy too.
    private static bool OutputRowInputGradientPays(in Conv2dGeometry g) =>
        OutputRowInputGradient.Supports(g) && 4L * g.H * g.W <= 5L * g.OH * g.OW
        && OutputRowsPay(OutputRowInputGradient.Transposed(g), OutputRowInputGradientPixels);

    // A single image with its prepared weights kept between calls (inference) pays the larger weight transforms of F(4x4, 3x3)
    // and F(2x2, 5x5) once. Their fewer products then won: F(4x4, 3x3) from 13x13 planes on (16→16 to 64→64: by 10-34 %, 32→32
    // on 56x56 by 34 %; tied on 12x12, lost on 10x10 and on 7x7 and 8x8, whose 4 tiles fill a quarter of a vector), F(2x2, 5x5)
    // from 16 channels on every plane measured (8x8 to 28x28, by 25-45 %) (bench/RESULTS.md, "… single images with kept weights").
    internal const int MinKeptWideTileSide = 13;

    // Below that F(2x2, 3x3) with kept weights won on 8x8 planes (16 whole tiles, one vector a position) by 25-32 % from 32
    // channels; it tied on 7x7 (its tiles' last row and column half outside) and lost on 3x3 to 6x6 (bench/RESULTS.md, "Small
    // planes of a single image by Winograd").
    internal const int MinKeptWholeTilesChannels = 32;

    private static ConvAlgorithm? KeptSingleImage(in Conv2dGeometry g)
    {
        int channels = Math.Min(g.Cg, g.OCg);
        if (g.N != 1 || channels < MinWinogradChannels) return null;
        if (Winograd4x4.Supports(g) && Math.Min(g.H, g.W) >= MinKeptWideTileSide) return ConvAlgorithm.Winograd4x4;
        if (Winograd3x3.Supports(g) && g.H == 8 && g.W == 8 && channels >= MinKeptWholeTilesChannels) return ConvAlgorithm.Winograd;
        return Winograd5x5.Supports(g) ? ConvAlgorithm.Winograd5x5 : null;
    }

    private static ConvAlgorithm ChooseForward(in Conv2dGeometry g, bool weightsKept)
    {
        if (DepthwisePays(g)) return ConvAlgorithm.Depthwise;
        if (WeightRowsPay(g)) return ConvAlgorithm.WeightRows;
        if (weightsKept && KeptSingleImage(g) is { } kept) return kept;
        if (PixelGemmPays(g, MaxPixelGemmShare)) return ConvAlgorithm.PixelGemm;
        if (WinogradPays(g)) return WideTilesPay(g) ? ConvAlgorithm.Winograd4x4 : ConvAlgorithm.Winograd;
        if (Winograd5x5Pays(g)) return ConvAlgorithm.Winograd5x5;
        if (WinogradGemmPays(g)) return ConvAlgorithm.WinogradGemm;
        if (SingleChannelConv3x3.Supports(g)) return ConvAlgorithm.SingleChannel;
        if (OutputRowsPay(g, OutputRowPixels) || PointwiseRowsPay(g)) return ConvAlgorithm.OutputRows;
        if (ChannelBlockedPays(g) && (PairsChannels(g.OCg) || !(g.ColRows >= GemmWideTaps && g.ColCols >= GemmWidePixels && g.OCg >= GemmRows)))
            return ConvAlgorithm.ChannelBlocked;
        return PaddedBlocksPay(g) && (g.SH > 1 || g.SW > 1) ? ConvAlgorithm.ChannelBlocked : ConvAlgorithm.Im2ColGemm;
    }

    // At a stride above 1, im2col's dx (a GEMM whose sum runs over the output channels, then col2im) is slow with few
    // output channels and the direct one wins; from MaxDirectDxOutputs on, the GEMM's longer sums win unless the direct
    // one takes 32 input channels per step. At stride 1 it pays with 32 per step, with groups (im2col's dx then runs one
    // image and group at a time) or with dilation, and only where dx has few more pixels than dy (padding that keeps the
    // size): the direct loop also multiplies the zeros around dy. A strided 1x1 kernel (a shortcut's projection) keeps
    // im2col's dx over this one: one GEMM and a scatter to every other pixel beat its phases, three of four of them empty.
    // On outputs of at most MaxTinyDirectDxPixels pixels (2x2) with MaxDirectDxOutputs input channels or more, im2col's dx won
    // (256→384 at stride 2 on 4x4 8.8-9.0 → 6.4 ms, 256→256 5.8 → 5.0, 128→256 2.8 → 2.5; 64→128 lost, 0.67 against 0.90).
    internal const int MaxDirectDxOutputs = 128, MaxTinyDirectDxPixels = 4;

    private static bool DirectInputGradientPays(in Conv2dGeometry g) =>
        ChannelBlockedInputGradient.Supports(g) && (g.SH > 1 || g.SW > 1
            ? (g.OCg < MaxDirectDxOutputs || PairsChannels(g.Cg)) && g.KH * g.KW > 1
              && !(g.ColCols <= MaxTinyDirectDxPixels && g.Cg >= MaxDirectDxOutputs)
            : (PairsChannels(g.Cg) || g.G > 1 || g.DH > 1 || g.DW > 1) && !g.IsPointwise
              && 4L * g.H * g.W <= 5L * g.OH * g.OW && g.OCg * g.KH * g.KW >= 64);

    // At stride 2 in x the output-row dx (both column phases of 2 phase rows and 8 input channels a step) pays where dx's phase
    // rows fill 7/8 of their vectors (dx 28 to 32 wide, 56 to 64 …) and the input channels 3/4 of their blocks of 8: it beat
    // the channel-blocked dx and im2col's on every such shape measured up to 128 output channels; with more, im2col's longer
    // sums won (bench/RESULTS.md, "The stride-2 input gradient by rows"). A 1x1 shortcut's dx (no padding) is im2col's: one
    // GEMM and the spread of its rows into every other pixel beat the phases by 10-60 % on every shape measured, 8→16 to 64→128.
    private static bool StrideTwoRowsPay(in Conv2dGeometry g)
    {
        if (!StrideTwoRowInputGradient.Supports(g) || g.OCg > MaxDirectDxOutputs || g is { KH: 1, KW: 1, PH: 0, PW: 0 }) return false;
        return RowsFillLanes((g.W + 1) / 2, g.Cg);   // dx's phase rows and input channels
    }

    private static ConvAlgorithm ChooseInputGradient(in Conv2dGeometry g) =>
        DepthwisePays(g) ? ConvAlgorithm.Depthwise
        : PixelGemmPays(g, MaxPixelGemmShare) ? ConvAlgorithm.PixelGemm
        : WinogradPays(g) ? WideTilesPay(g) ? ConvAlgorithm.Winograd4x4 : ConvAlgorithm.Winograd
        : Winograd5x5Pays(g) ? ConvAlgorithm.Winograd5x5
        : WinogradGemmPays(g) ? ConvAlgorithm.WinogradGemm
        : OutputRowInputGradientPays(g) || StrideTwoRowsPay(g) ? ConvAlgorithm.OutputRows
        : DirectInputGradientPays(g) ? ConvAlgorithm.ChannelBlocked : ConvAlgorithm.Im2ColGemm;

    // With 16 outputs per step, a weight gradient of few rows (one input channel) stays on im2col + dot products: the direct
    // one measured no faster, both bound by reading dy. With 32 per step the direct one won on every shape measured with
    // more than one input channel, pointwise included; one input channel keeps the dot products, which the fused
    // one-channel conv + ReLU + pool computes too (the same bits fused or not).
    // Winograd's weight gradient needs planes of at least MinWinogradWeightGradientTiles tiles (12x12): on 7x7 to 10x10 planes
    // its transforms and per-block products cost more than the channel-blocked direct one, where that can run.
    // Its products turned into the forward's shape (more than 16 channels: WinogradWeightGradient.AddDots), it beat the
    // channel-blocked one on smaller planes too, with 32 or more channels on both sides where the tiles lie inside the plane
    // (85 %: 6x6, 8x8, 10x10), 48 or more on planes of 16 tiles whose last row and column reach past it (7x7), given blocks
    // of MinSmallPlaneBlockTiles tiles: 8x8 32→32 to 128→128 by 21-36 % (batch 32 to 128), 64→64 on 6x6 by 25 %, 48→48
    // to 128→128 on 7x7 by 15-26 %. It tied with 32 channels on 7x7, on 5x5 (9 tiles, two thirds inside) and on 4x4, and
    // lost on 4x4 with 128 channels and with blocks of one 7x7 image (batch 8).
    internal const int MinWinogradWeightGradientTiles = 36, MinSmallPlaneWeightGradientChannels = 32;
    internal const int MinSmallPlaneOutsideChannels = 48, MinSmallPlaneBlockTiles = 32, MinSmallPlaneTiles = 9;

    private static bool SmallPlaneWeightGradientPays(in Conv2dGeometry g)
    {
        int tiles = Winograd3x3.Tiles(g.H, g.W), channels = Math.Min(g.Cg, g.OCg);
        bool inside = 100L * g.H * g.W >= 85L * 4 * tiles;
        return channels >= MinSmallPlaneWeightGradientChannels && tiles >= MinSmallPlaneTiles
            && BlockTiles(g, tiles) >= MinSmallPlaneBlockTiles && (inside || channels >= MinSmallPlaneOutsideChannels && tiles >= 16);
    }

    // With fewer channels than the forward takes Winograd for, its weight gradient still paid on planes of 12x12 and up,
    // from 3 inputs and 4 outputs (3→4 on 28x28 0.39 → 0.25 ms, 4→4 1.66 → 0.28, 12→4 2.80 → 0.59, 3→16 0.92 → 0.67, 4→16
    // on 14x14 0.24 → 0.18), but not against the channel-blocked kernel's 32 outputs a step with fewer than 8 inputs
    // (3→32 on 28x28 1.05 against 1.36).
    internal const int MinFewChannelWeightGradientInputs = 3, MinFewChannelWeightGradientOutputs = 4;

    private static bool FewChannelWeightGradientPays(in Conv2dGeometry g) =>
        Winograd3x3.Supports(g) && g.N != 1 && g.Cg >= MinFewChannelWeightGradientInputs
        && g.OCg >= MinFewChannelWeightGradientOutputs && Winograd3x3.Tiles(g.H, g.W) >= MinWinogradWeightGradientTiles
        && !(PairsChannels(g.OCg) && g.Cg < MinBatchedWinogradChannels);

    private static ConvAlgorithm ChooseWeightGradient(in Conv2dGeometry g) =>
        DepthwisePays(g) ? ConvAlgorithm.Depthwise
        : WinogradPays(g) && (Winograd3x3.Tiles(g.H, g.W) >= MinWinogradWeightGradientTiles || !WholeBlocks(g)
            || SmallPlaneWeightGradientPays(g)) || FewChannelWeightGradientPays(g)
            ? WideWeightGradientPays(g) ? ConvAlgorithm.Winograd4x4 : ConvAlgorithm.Winograd
        : Winograd5x5WeightGradientPays(g) ? ConvAlgorithm.Winograd5x5
        : WinogradGemmWeightGradientPays(g) ? ConvAlgorithm.WinogradGemm
        : PixelGemmPays(g, MaxPixelGemmWeightGradientShare, againstWinograd: false) ? ConvAlgorithm.PixelGemm
        : WholeBlocks(g) && PairsChannels(g.OCg) && g.Cg > 1 ? ConvAlgorithm.ChannelBlocked
        : ChannelBlockedPays(g) && g.ColRows > DotProductRows || PaddedBlocksPay(g) || PointwiseBlocksPay(g) ? ConvAlgorithm.ChannelBlocked
        : ConvAlgorithm.Im2ColGemm;

    // A pointwise dW with 16 outputs a step beat im2col's GEMM from 16 input channels (64→16 on 32x32 4.27 → 3.41 ms, 16→16
    // 0.94 → 0.70, 128→16 on 16x16 1.76 → 1.14, 64→48 1.35 → 1.18, 16→48 on 28x28 2.29 → 1.46), not with 8 (0.41 against 0.48).
    internal const int MinPointwiseBlockedInputs = 16;

    private static bool PointwiseBlocksPay(in Conv2dGeometry g) => WholeBlocks(g) && g.IsPointwise && g.Cg >= MinPointwiseBlockedInputs;

    // A dilated convolution of stride 1 whose sides and padding are multiples of its dilation is an ordinary one on its DH·DW
    // phase planes (DilatedPhases), whose Winograd kernels cannot take dilation. Its x and y (dx and dy) each make a pass over
    // memory into and out of the phases, which the ordinary one's fewer products pay for with MinPhaseChannels on both sides,
    // one group (dilation 2, batch 128, forward and dx + dW together, ms): 64→64 on 16x16 10.6 → 7.7 and 22.9 → 19.7, 48→48 6.2
    // → 4.1-4.5 and 12.9 → 11.6-12.4, 32→32 on 32x32 10.9 → 8.4 and 22.0 → 20.5 (on 16x16 2.67 → 2.12 and 5.77 → 5.95). With 16
    // channels it lost (16→16 on 32x32 2.86 → 2.92 and 7.00 → 7.65), and with 4 groups of 16 by 40 % (64→64 forward 3.16 →
    // 4.40). A single image (no pass over memory: its
    // planes stay in cache) and groups of 16 on phase planes of 16x16 or more (where F(4x4, 3x3) has whole tiles) pay too
    // (bench/RESULTS.md, "Dilated layers in phases at batch 1 and in groups").
    internal const int MinPhaseChannels = 32;

    // Channels a group, and the phase planes' shorter side, from which a grouped dilated convolution runs in phases.
    internal const int MinGroupPhaseChannels = 16, MinGroupPhaseSide = 16;

    /// <summary>
    /// Whether a dilated convolution in phases takes its dW in phases too (<see cref="DilatedPhases.Backward"/>): where the ordinary
    /// one's is a Winograd one. On the Zen 5 that tied on 48→48 on 16x16 (x split once more); on the Zen 4 it paid, grouped or
    /// not (bench/RESULTS.md, "Dilated layers in phases at batch 1 and in groups").
    /// </summary>
    internal static bool PhaseWeightGradient(in Conv2dGeometry inner) =>
        Plan(inner).WeightGradient is ConvAlgorithm.Winograd or ConvAlgorithm.Winograd4x4 or ConvAlgorithm.Winograd5x5;

    /// <summary>
    /// The ordinary convolution on the phase planes that a dilated one runs as (<see cref="DilatedPhases"/>), or null where it
    /// runs as it is (a pinned algorithm always does).
    /// </summary>
    public static Conv2dGeometry? DilationPhases(in Conv2dGeometry g, ConvAlgorithm pinned = ConvAlgorithm.Auto)
    {
        if (pinned != ConvAlgorithm.Auto || g.SH != 1 || g.SW != 1 || (g.DH == 1 && g.DW == 1)) return null;
        if (g.H % g.DH != 0 || g.W % g.DW != 0 || g.PH % g.DH != 0 || g.PW % g.DW != 0) return null;
        bool pays = g.G == 1 ? Math.Min(g.C, g.OC) >= MinPhaseChannels
            : Math.Min(g.Cg, g.OCg) >= MinGroupPhaseChannels && Math.Min(g.H / g.DH, g.W / g.DW) >= MinGroupPhaseSide;
        if (!pays) return null;
        var inner = new Conv2dGeometry(checked(g.N * g.DH * g.DW), g.C, g.H / g.DH, g.W / g.DW, g.OC, g.KH, g.KW, 1, 1, g.PH / g.DH,
            g.PW / g.DW, 1, 1, g.G);
        return WinogradPays(inner) || Winograd5x5Pays(inner) ? inner : null;
    }

    // A pointwise convolution's forward is a GEMM on the input itself: nothing for a direct kernel to save (its dW: above).
    private static bool ChannelBlockedPays(in Conv2dGeometry g) =>
        WholeBlocks(g) && !g.IsPointwise
        && (PairsChannels(g.OCg) || !(g.ColRows >= GemmTaps && g.ColCols >= GemmPixels && g.OCg >= GemmRows));

    private static bool HasInputGradient(ConvAlgorithm a, in Conv2dGeometry g) =>
        a is ConvAlgorithm.Im2ColGemm or ConvAlgorithm.Winograd or ConvAlgorithm.Winograd4x4 or ConvAlgorithm.Winograd5x5
        or ConvAlgorithm.Depthwise or ConvAlgorithm.PixelGemm or ConvAlgorithm.WinogradGemm
        || (a == ConvAlgorithm.ChannelBlocked && ChannelBlockedInputGradient.Supports(g))
        || (a == ConvAlgorithm.OutputRows && OutputRowInputGradient.Supports(g));

    private static bool HasWeightGradient(ConvAlgorithm a) =>
        a is not (ConvAlgorithm.Auto or ConvAlgorithm.SingleChannel or ConvAlgorithm.OutputRows or ConvAlgorithm.WeightRows);

    private static string Requirement(ConvAlgorithm a) => a switch
    {
        ConvAlgorithm.Winograd => "a 3x3 kernel, stride 1, padding 1, dilation 1 and AVX-512",
        ConvAlgorithm.Winograd4x4 => $"a 3x3 kernel, stride 1, padding 1, dilation 1, planes at most {Winograd4x4.MaxWidth} wide and AVX-512",
        ConvAlgorithm.Winograd5x5 => "a 5x5 kernel, stride 1, padding 2, dilation 1, planes at most 32 wide and AVX-512",
        ConvAlgorithm.ChannelBlocked => "output channels per group a multiple of 16 (or one group) and AVX-512",
        ConvAlgorithm.SingleChannel => "one input channel, a 3x3 kernel, stride 1, padding 1, dilation 1 and AVX-512",
        ConvAlgorithm.Depthwise => "one input channel per group and more than one group",
        ConvAlgorithm.OutputRows => "stride 1 or 2 in x and AVX-512",
        ConvAlgorithm.PixelGemm => "one group",
        ConvAlgorithm.WeightRows => "AVX-512",
        ConvAlgorithm.WinogradGemm => "a 3x3 kernel with padding 1 or a 5x5 with padding 2, stride 1, dilation 1 and AVX2",
        _ => "nothing",
    };

    private static string Describe(in Conv2dGeometry g) =>
        $"{g.C}→{g.OC} channels, {g.KH}x{g.KW} kernel, stride ({g.SH}, {g.SW}), padding ({g.PH}, {g.PW}), dilation ({g.DH}, {g.DW}), "
        + $"groups {g.G}";
}
