namespace CnnLab.Kernels;

// The planner's rule for the pixel GEMMs (PixelGemmConv): where skipping the padding's products pays.
public static partial class ConvPlanner
{
    // On small planes a kernel's taps fall on the padding: on 2x2 with a 3x3 and padding 1, 20 of the plane's 36 products.
    // The pixel GEMMs skip them (one GEMM per output pixel, the batch as its columns) at the GEMM's rate. Against the planner's
    // other choices (batch 128, ms, forward / dx / dW): 384→384 on 2x2 12.6 → 7.5, 12.6 → 7.9, 22.1 → 7.8 (Winograd, and the
    // channel-blocked dW); 64→64 0.74 → 0.27, 0.96 → 0.26, 0.57 → 0.30; 256→384 at stride 2 on 4x4 (25 of 36 inside) 8.8 →
    // 7.7, 11.4 → 8.8, 11.2 → 7.9; 256→256 at batch 32 1.72 → 1.12. Where Winograd does fewer products it won forward and as
    // dx (256→256 on 4x4: 64 against 100; 14.1 against 19.7 ms) and dW on 7x7; the direct dW lost with up to 84 % of the products
    // inside (128→256 at stride 2 on 8x8, 121 of 144: 17.9 → 13.2; 256→256 on 4x4, 100: 23.6 → 19.2), the direct forward won
    // there (12.2 against 13.8). Measured from 64 channels and 32 images (the GEMMs' rows and columns).
    internal const int MaxPixelGemmShare = 75, MaxPixelGemmWeightGradientShare = 87, MinPixelGemmChannels = 64, MinPixelGemmImages = 32;

    // Against Winograd's products where the planner would take it (not for dW, chosen past Winograd's own rules).
    private static bool PixelGemmPays(in Conv2dGeometry g, int maxSharePercent, bool againstWinograd = true)
    {
        if (!PixelGemmConv.Supports(g) || g.N < MinPixelGemmImages || Math.Min(g.C, g.OC) < MinPixelGemmChannels) return false;
        long pairs = PixelGemmConv.CountPairs(g);
        return 100 * pairs <= maxSharePercent * ((long)g.ColCols * g.KH * g.KW) && (!againstWinograd || pairs <= WinogradProducts(g));
    }

    // Winograd's products per channel pair and image where the planner would take it (forward and dx), else none to beat.
    private static long WinogradProducts(in Conv2dGeometry g) =>
        WinogradPays(g) ? WideTilesPay(g) ? 36L * Winograd4x4.Tiles(g.H, g.W) : 16L * Winograd3x3.Tiles(g.H, g.W)
        : Winograd5x5Pays(g) ? 36L * Winograd5x5.Tiles(g.H, g.W) : long.MaxValue;
}
