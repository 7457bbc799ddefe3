using System.Runtime.Intrinsics.X86;
using CnnLab.Kernels;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// The backward's Winograd blocks hold at most <see cref="ConvBackwardPass.WinogradBlockBytes"/> of transformed planes: fewer
/// images a block where channels are many, the default where they are few.
/// </summary>
public class WinogradBlockBudgetTests
{
    public static TheoryData<int, int, int, int, bool, int, int, int> Shapes() => new()
    {
        // c, side, oc, groups, dx too, tile side, kernel, columns: 36 positions · (c + oc [+ oc for dx]) floats a column
        { 64, 8, 128, 1, true, 4, 3, 1572864 / (36 * 320 * 4) },    // 34: 8 images of 4 tiles
        { 128, 8, 128, 1, true, 4, 3, 1572864 / (36 * 384 * 4) },   // 28: 4 images
        { 64, 8, 128, 1, false, 4, 3, 1572864 / (36 * 192 * 4) },   // dW alone: 56
        { 32, 16, 64, 1, true, 2, 5, 1572864 / (36 * 160 * 4) },    // F(2x2, 5x5): 68, one image of 64 tiles
        { 16, 28, 16, 1, true, 4, 3, 1572864 / (36 * 48 * 4) },     // 227: 4 images of 49 tiles, as the default's 256
        { 64, 32, 64, 8, true, 4, 3, WinogradBlock.WideBlockColumns },   // groups one by one: 8 + 16 channels fit
        { 64, 6, 64, 1, true, 2, 3, 1572864 / (16 * 192 * 4) },     // F(2x2, 3x3): 128 of its 512
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void A_block_holds_what_the_budget_allows(int c, int side, int oc, int groups, bool dx, int tileSide, int kernel, int columns)
    {
        var g = new Conv2dGeometry(128, c, side, side, oc, kernel, kernel, PH: kernel / 2, PW: kernel / 2, G: groups);
        int dxSide = dx ? tileSide : 0;
        Assert.Equal(columns, ConvBackwardPass.BlockColumns(g, ConvBackwardPass.RunsByGroup(g, dx, true, tileSide, dxSide), tileSide, dxSide));
    }

    [Fact]
    public void Without_Winograd_there_is_no_block() =>
        Assert.Equal(0, ConvBackwardPass.BlockColumns(new Conv2dGeometry(128, 64, 8, 8, 64, 3, 3, PH: 1, PW: 1), false, 0, 0));

    [Fact]
    public unsafe void A_training_step_of_many_channels_on_small_planes_takes_smaller_blocks()
    {
        if (!Avx512F.IsSupported) return;
        // 64 -> 128 on 8x8: 16 images (64 tiles) a block by the default, 8 (1.47 MB of transformed planes) within the budget.
        var g = new Conv2dGeometry(128, 64, 8, 8, 128, 3, 3, PH: 1, PW: 1);
        var plan = ConvPlanner.Plan(g);
        Assert.Equal(ConvAlgorithm.Winograd4x4, plan.InputGradient);
        var w = new float[g.OC * g.ColRows];
        var dy = new float[g.N * g.OC * g.ColCols];
        fixed (float* pdy = dy)
        {
            var pass = new ConvBackwardPass(g, w, new PlainGradient(g, pdy), plan, needDx: true, needDw: true, needDb: false,
                overwriteDx: true);
            Assert.Equal(8, pass.BlockImages);
        }
    }
}
