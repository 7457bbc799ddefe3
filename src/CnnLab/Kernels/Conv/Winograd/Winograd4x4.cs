using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend: a plane H x W (W ≤ 64) with zero padding 1, 3x3 kernel, stride 1, so the output is H x W too. Tiles:
// TH = ⌈H/4⌉ rows of TW = ⌈W/4⌉ tiles of 4x4 outputs, T = TH·TW per plane; tile (ty, tx) reads the 6x6 input patch at
// rows 4ty − 1 … 4ty + 4, columns 4tx − 1 … 4tx + 4. ξ = 6i + j names one of the 36 positions of a transformed 6x6 tile.

/// <summary>
/// Winograd's minimal filtering F(4x4, 3x3) for a 3x3, stride-1, padding-1 convolution (Lavin &amp; Gray, "Fast
/// Algorithms for Convolutional Neural Networks", CVPR 2016, with the points 0, ±1, ±2): per 4x4 output tile,
/// Y = Aᵀ·[Σ_c (G·g_c·Gᵀ) ⊙ (Bᵀ·d_c·B)]·A with
/// Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1],
/// G = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1/24 1/12 ⅙; 1/24 −1/12 ⅙; 0 0 1],
/// Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1].
/// 36 products per channel pair and tile of 16 outputs, against F(2x2, 3x3)'s 16 per 4 (<see cref="Winograd3x3"/>) and
/// the direct sum's 9 per output: 4x fewer than direct, 1.78x fewer than F(2x2, 3x3), and its input transform writes 2.25
/// floats per output instead of 4. Its rounding is larger (the transforms' coefficients reach 8 and ⅙ is inexact): a few
/// parts in a million of the sum's magnitude, as with oneDNN's F(4x4, 3x3) kernels. Planes up to 64 wide, each row of
/// the plane in up to four vectors (<see cref="WinogradBlock"/> runs it; the planner chooses where it pays).
/// Written by hand: no .NET library has Winograd convolution.
/// </summary>
/// <remarks>PyTorch: oneDNN's <c>convolution_winograd</c> on AVX-512 computes F(4x4, 3x3).</remarks>
[SkipLocalsInit]
internal static unsafe partial class Winograd4x4
{
    /// <summary>The widest plane: a row in four vectors.</summary>
    public const int MaxWidth = WinogradPatches.MaxWidth;

    /// <summary>True for 3x3, stride 1, dilation 1, padding 1, planes at most <see cref="MaxWidth"/> wide, where AVX-512 runs.</summary>
    public static bool Supports(in Conv2dGeometry g) => Winograd3x3.Supports(g) && g.W <= MaxWidth;

    /// <summary>Tiles per plane, ⌈H/4⌉·⌈W/4⌉.</summary>
    public static int Tiles(int h, int w) => (h + 3) / 4 * ((w + 3) / 4);

    /// <summary>
    /// u = G·k·Gᵀ for one 3x3 kernel k (row-major; turned 180° first with <paramref name="turned"/>): u[ξ·stride] for
    /// ξ = 6i + j. Computed in double and rounded once, since ⅙ and 1/24 are inexact in float.
    /// </summary>
    internal static void TransformKernel(float* k, bool turned, float* u, int stride)
    {
        double k00 = k[0], k01 = k[1], k02 = k[2], k10 = k[3], k11 = k[4], k12 = k[5], k20 = k[6], k21 = k[7], k22 = k[8];
        if (turned)
            (k00, k01, k02, k10, k12, k20, k21, k22) = (k22, k21, k20, k12, k10, k02, k01, k00);
        // Rows of G·k (6x3), each then times Gᵀ into its row of u (by the reciprocals: a division per product cost more than
        // the rest of a layer's preparation).
        Row(k00 * Quarter, k01 * Quarter, k02 * Quarter, u, stride);
        Row((k00 + k10 + k20) * -Sixth, (k01 + k11 + k21) * -Sixth, (k02 + k12 + k22) * -Sixth, u + 6L * stride, stride);
        Row((k00 - k10 + k20) * -Sixth, (k01 - k11 + k21) * -Sixth, (k02 - k12 + k22) * -Sixth, u + 12L * stride, stride);
        Row(Fourth(k00, k10, k20, 1), Fourth(k01, k11, k21, 1), Fourth(k02, k12, k22, 1), u + 18L * stride, stride);
        Row(Fourth(k00, k10, k20, -1), Fourth(k01, k11, k21, -1), Fourth(k02, k12, k22, -1), u + 24L * stride, stride);
        Row(k20, k21, k22, u + 30L * stride, stride);

        // G's rows 3 and 4: a/24 ± b/12 + c/6.
        static double Fourth(double a, double b, double c, double sign) => a * TwentyFourth + sign * b * Twelfth + c * Sixth;

        static void Row(double a, double b, double c, float* row, long stride)
        {
            row[0] = (float)(a * Quarter);
            row[stride] = (float)((a + b + c) * -Sixth);
            row[2 * stride] = (float)((a - b + c) * -Sixth);
            row[3 * stride] = (float)Fourth(a, b, c, 1);
            row[4 * stride] = (float)Fourth(a, b, c, -1);
            row[5 * stride] = (float)c;
        }
    }

    private const double Quarter = 0.25, Sixth = 1.0 / 6, Twelfth = 1.0 / 12, TwentyFourth = 1.0 / 24;
}
