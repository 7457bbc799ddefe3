using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

public static partial class ConvPlanner
{
    // Without AVX-512 the tuned Winograd kernels do not run; F(2x2, 3x3) and F(2x2, 5x5) by GEMMs then take their place where
    // they would have paid for a batch, from MinBatchedWinogradChannels on both sides.
    private static bool WinogradGemmPays(in Conv2dGeometry g) =>
        !Avx512F.IsSupported && WinogradGemm.Supports(g) && g.N != 1
        && g.Cg >= MinBatchedWinogradChannels && g.OCg >= MinBatchedWinogradChannels;

    // Its weight gradient, on planes of at least MinWinogradWeightGradientTiles tiles as the tuned one's.
    private static bool WinogradGemmWeightGradientPays(in Conv2dGeometry g) =>
        WinogradGemmPays(g) && Winograd3x3.Tiles(g.H, g.W) >= MinWinogradWeightGradientTiles;
}
