using System.Runtime.Intrinsics.X86;
using CnnLab.Kernels;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// Winograd F(2x2, 3x3) with its products as GEMMs (<see cref="WinogradGemm"/>, <see cref="WinogradGemmWeightGradient"/>, AVX2):
/// y (with bias and ReLU), dx (overwritten and accumulated) and dW (added to) against the direct-loop <see cref="Conv2dReference"/>
/// on odd planes, groups, single images and blocks cut at any size; the same bits for any thread count; and the planner's choice
/// of it where AVX-512 is missing.
/// </summary>
public class WinogradGemmTests
{
    private static Conv2dGeometry Same3x3(int n, int c, int h, int w, int oc, int groups = 1) =>
        new(n, c, h, w, oc, 3, 3, PH: 1, PW: 1, G: groups);

    private static Conv2dGeometry Same5x5(int n, int c, int h, int w, int oc, int groups = 1) =>
        new(n, c, h, w, oc, 5, 5, PH: 2, PW: 2, G: groups);

    [Theory]
    [InlineData(2, 3, 5, 7, 4, 1)]        // 3 channels, odd plane: partial tiles on both sides
    [InlineData(3, 16, 14, 14, 32, 1)]
    [InlineData(2, 8, 1, 1, 8, 1)]        // one tile, three quarters outside
    [InlineData(5, 32, 9, 31, 16, 1)]     // tile rows of 16 tiles: two vectors, the second 8 tiles past the row
    [InlineData(4, 16, 16, 16, 16, 4)]    // groups
    [InlineData(1, 12, 28, 28, 20, 1)]    // one image
    [InlineData(3, 64, 8, 8, 64, 2)]
    [InlineData(17, 8, 6, 5, 8, 1)]       // blocks of several images, the last short
    public void Every_pass_matches_the_reference(int n, int c, int h, int w, int oc, int groups) =>
        AllPassesMatchTheReference(Same3x3(n, c, h, w, oc, groups));

    [Theory]
    [InlineData(2, 3, 5, 7, 4, 1)]        // F(2x2, 5x5): odd plane, most of the 6x6 patches outside
    [InlineData(3, 16, 16, 16, 32, 1)]
    [InlineData(2, 8, 1, 2, 8, 1)]
    [InlineData(5, 32, 9, 37, 16, 1)]     // wider than the tuned F(2x2, 5x5)'s 32
    [InlineData(4, 16, 12, 12, 16, 4)]    // groups
    [InlineData(17, 8, 6, 5, 8, 1)]
    public void Every_five_by_five_pass_matches_the_reference(int n, int c, int h, int w, int oc, int groups) =>
        AllPassesMatchTheReference(Same5x5(n, c, h, w, oc, groups));

    private static void AllPassesMatchTheReference(Conv2dGeometry g)
    {
        if (!Avx2.IsSupported) return;
        int n = g.N, c = g.C;
        // F(2x2, 5x5)'s rounding is F(4x4, 3x3)'s: the tolerance the tuned one's tests take.
        var rounding = g.KH == 5 ? ConvAlgorithm.Winograd5x5 : ConvAlgorithm.WinogradGemm;
        var (x, wt, b, dy) = Winograd4x4Tests.Inputs(g, n * 131 + c);
        var yRef = new float[dy.Length];
        Conv2dReference.Forward(g, x, wt, b, true, yRef);
        var (dxRef, dwRef, dbRef) = (new float[x.Length], new float[wt.Length], new float[b.Length]);
        Conv2dReference.Backward(g, x, wt, dy, dxRef, dwRef, dbRef);
        foreach (int columns in new[] { 0, 37, 1 })
        {
            var y = new float[dy.Length];
            Winograd4x4Tests.Forward(g, x, wt, b, y, columns, ConvAlgorithm.WinogradGemm);
            Conv2dKernelTests.AssertClose(yRef, y, $"y {g} blocks of {columns}", rounding);
            var yRelu = new float[dy.Length];
            Winograd4x4Tests.Forward(g, x, wt, b, yRelu, columns, ConvAlgorithm.WinogradGemm, relu: true);
            Conv2dKernelTests.AssertClose(yRef.Select(v => Math.Max(v, 0f)).ToArray(), yRelu, $"relu(y) {g}", rounding);

            var (dx, dw, db) = (Winograd4x4Tests.Filled(x.Length, 0.5f), Winograd4x4Tests.Filled(wt.Length, -1f), new float[b.Length]);
            Winograd4x4Tests.Backward(g, x, wt, dy, dx, dw, db, columns, ConvAlgorithm.WinogradGemm);
            Conv2dKernelTests.AssertClose(dxRef.Select(v => v + 0.5f).ToArray(), dx, $"dx accumulated {g}", rounding);
            Conv2dKernelTests.AssertClose(dwRef.Select(v => v - 1f).ToArray(), dw, $"dw added to {g}", rounding);
            Conv2dKernelTests.AssertClose(dbRef, db, $"db {g}");
            var dxOver = Winograd4x4Tests.Filled(x.Length, 9f);
            Winograd4x4Tests.Backward(g, x, wt, dy, dxOver, new float[wt.Length], [], columns, ConvAlgorithm.WinogradGemm,
                overwriteDx: true);
            Conv2dKernelTests.AssertClose(dxRef, dxOver, $"dx overwritten {g}", rounding);
        }
    }

    // y and dx: the same bits for any thread count and block size; dW for any thread count (its blocks' products are added to dU
    // block by block, so the block size orders its sums).
    [Fact]
    public void Results_do_not_depend_on_the_thread_count_or_the_block()
    {
        if (!Avx2.IsSupported) return;
        Winograd4x4Tests.SameBitsForAnyThreadCountOrBlock(Same3x3(40, 16, 9, 11, 24), ConvAlgorithm.WinogradGemm, [0, 20, 9]);
        Winograd4x4Tests.SameBitsForAnyThreadCountOrBlock(Same5x5(40, 8, 9, 11, 16), ConvAlgorithm.WinogradGemm, [0, 20, 9]);
    }

    [Fact]
    public void The_planner_takes_it_for_batches_where_AVX512_is_missing()
    {
        var batch = ConvPlanner.Plan(Same3x3(128, 32, 14, 14, 64));
        if (Avx512F.IsSupported || !Avx2.IsSupported)
        {
            Assert.NotEqual(ConvAlgorithm.WinogradGemm, batch.Forward);
            return;
        }
        Assert.Equal(new ConvPlan(ConvAlgorithm.WinogradGemm, ConvAlgorithm.WinogradGemm, ConvAlgorithm.WinogradGemm), batch);
        Assert.NotEqual(ConvAlgorithm.WinogradGemm, ConvPlanner.Plan(Same3x3(128, 64, 8, 8, 64)).WeightGradient);   // 16 tiles
        Assert.Equal(new ConvPlan(ConvAlgorithm.WinogradGemm, ConvAlgorithm.WinogradGemm, ConvAlgorithm.WinogradGemm),
            ConvPlanner.Plan(Same5x5(128, 32, 16, 16, 64)));
        Assert.NotEqual(ConvAlgorithm.WinogradGemm, ConvPlanner.Plan(Same3x3(1, 32, 14, 14, 64)).Forward);    // one image
        Assert.NotEqual(ConvAlgorithm.WinogradGemm, ConvPlanner.Plan(Same3x3(128, 4, 14, 14, 64)).Forward);   // 4 inputs
        Assert.NotEqual(ConvAlgorithm.WinogradGemm, ConvPlanner.Plan(new(128, 32, 14, 14, 64, 3, 3, 2, 2, 1, 1)).Forward);
    }

    [Fact]
    public void Pinning_it_where_it_cannot_run_is_an_error()
    {
        var strided = new Conv2dGeometry(2, 8, 8, 8, 8, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1);
        var e = Assert.Throws<ArgumentException>(() => ConvPlanner.Plan(strided, ConvAlgorithm.WinogradGemm));
        Assert.Contains("AVX2", e.Message);
    }
}
