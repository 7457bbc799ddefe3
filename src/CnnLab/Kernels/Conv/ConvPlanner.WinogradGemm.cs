namespace CnnLab.Kernels;

public static partial class ConvPlanner
{
    // Without AVX-512 the tuned Winograd kernels do not run; F(2x2, 3x3) by GEMMs then takes their place where they would
    // have paid for a batch, from MinBatchedWinogradChannels on both sides.
    private static bool WinogradGemmPays(in Conv2dGeometry g) =>
        !Winograd3x3.Supports(g) && WinogradGemm.Supports(g) && g.N != 1
        && g.Cg >= MinBatchedWinogradChannels && g.OCg >= MinBatchedWinogradChannels;

    // Its weight gradient, on planes of at least MinWinogradWeightGradientTiles tiles as the tuned one's.
    private static bool WinogradGemmWeightGradientPays(in Conv2dGeometry g) =>
        WinogradGemmPays(g) && Winograd3x3.Tiles(g.H, g.W) >= MinWinogradWeightGradientTiles;
}
