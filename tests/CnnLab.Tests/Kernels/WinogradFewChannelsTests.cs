using System.Runtime.Intrinsics.X86;
using CnnLab.Kernels;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// Winograd with fewer than 16 channels, where the planner takes it for batches (8 or more on both sides, F(2x2, 5x5) too;
/// its 3x3 weight gradient from 3 inputs and 4 outputs): the planner's choices, and every pass against the reference, pinned
/// and planned.
/// </summary>
public class WinogradFewChannelsTests
{
    private static Conv2dGeometry Same3x3(int n, int c, int h, int w, int oc) => new(n, c, h, w, oc, 3, 3, PH: 1, PW: 1);

    [Theory]
    [InlineData(128, 8, 28, 28, 8, true, true)]
    [InlineData(128, 12, 14, 14, 32, true, true)]
    [InlineData(128, 12, 28, 28, 4, false, true)]     // 4 outputs: the forward stays direct, the weight gradient not
    [InlineData(128, 3, 28, 28, 16, false, true)]     // an RGB first layer
    [InlineData(128, 3, 28, 28, 32, false, false)]    // against the channel-blocked kernel's 32 outputs a step
    [InlineData(128, 4, 10, 10, 4, false, false)]     // 25 tiles: too small a plane for the weight gradient
    [InlineData(1, 8, 28, 28, 8, false, false)]       // one image
    public void The_planner_takes_it_for_batches_with_few_channels(int n, int c, int h, int w, int oc, bool forward, bool weights)
    {
        if (!Avx512F.IsSupported) return;
        var plan = ConvPlanner.Plan(Same3x3(n, c, h, w, oc));
        Assert.Equal(forward, plan.Forward is ConvAlgorithm.Winograd or ConvAlgorithm.Winograd4x4);
        Assert.Equal(forward, plan.InputGradient is ConvAlgorithm.Winograd or ConvAlgorithm.Winograd4x4);
        Assert.Equal(weights, plan.WeightGradient is ConvAlgorithm.Winograd or ConvAlgorithm.Winograd4x4);
    }

    [Theory]
    [InlineData(4, 8, 12, 12, 16)]
    [InlineData(34, 8, 9, 10, 8)]     // odd planes; the planned weight gradient on blocks of two images
    public void Five_by_five_from_8_channels_matches_the_reference(int n, int c, int h, int w, int oc)
    {
        if (!Avx512F.IsSupported) return;
        var g = new Conv2dGeometry(n, c, h, w, oc, 5, 5, PH: 2, PW: 2);
        Assert.Equal(ConvAlgorithm.Winograd5x5, ConvPlanner.Plan(g).Forward);
        AllPassesMatchTheReference(g, [ConvAlgorithm.Auto, ConvAlgorithm.Winograd5x5]);
    }

    [Theory]
    [InlineData(4, 8, 14, 14, 8)]
    [InlineData(3, 12, 12, 13, 4)]
    [InlineData(5, 3, 16, 16, 16)]
    [InlineData(34, 8, 14, 14, 12)]   // blocks of two images' tiles for the planned weight gradient
    public void Every_pass_matches_the_reference(int n, int c, int h, int w, int oc)
    {
        if (!Avx512F.IsSupported) return;
        AllPassesMatchTheReference(Same3x3(n, c, h, w, oc), [ConvAlgorithm.Auto, ConvAlgorithm.Winograd4x4, ConvAlgorithm.Winograd]);
    }

    private static void AllPassesMatchTheReference(Conv2dGeometry g, ConvAlgorithm[] algorithms)
    {
        var (x, wt, b, dy) = Winograd4x4Tests.Inputs(g, g.N * 31 + g.C);
        var yRef = new float[dy.Length];
        Conv2dReference.Forward(g, x, wt, b, true, yRef);
        var (dxRef, dwRef, dbRef) = (new float[x.Length], new float[wt.Length], new float[b.Length]);
        Conv2dReference.Backward(g, x, wt, dy, dxRef, dwRef, dbRef);
        foreach (var algorithm in algorithms)
        {
            var y = new float[dy.Length];
            Conv2dKernel.Forward(g, x, wt, b, true, y, algorithm: algorithm);
            Conv2dKernelTests.AssertClose(yRef, y, $"y {algorithm} {g}", algorithm);
            var (dx, dw, db) = (new float[x.Length], new float[wt.Length], new float[b.Length]);
            Conv2dKernel.Backward(g, x, wt, dy, dx, dw, db, algorithm: algorithm);
            Conv2dKernelTests.AssertClose(dxRef, dx, $"dx {algorithm} {g}", algorithm);
            Conv2dKernelTests.AssertClose(dwRef, dw, $"dw {algorithm} {g}", algorithm);
            Conv2dKernelTests.AssertClose(dbRef, db, $"db {algorithm} {g}", algorithm);
        }
    }

    // The same bits on 1 and 2 threads (y and dx for any block size too) with 8 and 12 channels, for either tile size.
    [Theory]
    [InlineData(ConvAlgorithm.Winograd4x4)]
    [InlineData(ConvAlgorithm.Winograd)]
    public void Few_channels_give_the_same_bits_for_any_thread_count(ConvAlgorithm algorithm) =>
        Winograd4x4Tests.SameBitsForAnyThreadCountOrBlock(Same3x3(40, 8, 14, 14, 12), algorithm, [0, 20, 9]);
}
