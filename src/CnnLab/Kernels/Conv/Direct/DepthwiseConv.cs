using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend as in Conv2dKernel.cs; M = OC/C output channels per input channel (the depth multiplier).
// Hp = H + 2·PH, Wp = W + 2·PW the padded plane; L floats per phase row (see PhaseRow).

/// <summary>
/// Depthwise convolution (groups = C, one input channel per group, M outputs per channel: MobileNet's,
/// Howard et al. 2017, arXiv:1704.04861) computed directly: y[n, o] = b[o] + Σ_{kh, kw} w[o, 0, kh, kw] ·
/// x[n, o / M, i·SH − PH + kh·DH, j·SW − PW + kw·DW]. With one input channel per group, im2col + GEMM would
/// multiply [M, KH·KW] by [KH·KW, P] per channel, GEMMs too thin to keep the FMA units busy; here each tap is one
/// 16-lane FMA per 16 outputs instead. Any stride works the same way: each padded row is split into SW phases
/// (phase r holds its columns r, r + SW, r + 2·SW, …), in which the taps of consecutive outputs are consecutive; at
/// SW = 1 the forward keeps the padded rows as they are (one phase, Wp floats).
/// The forward and dx share one loop (<see cref="GatherRows"/>, 8 independent sums per tile); dx gathers from padded
/// dy (<see cref="InputGradient"/>) instead of scattering, dW takes nine taps per pass (<see cref="WeightGradient"/>).
/// Images run in parallel; the weight and bias gradients are summed per image, then over images in order, so
/// results are the same for every thread count. <see cref="Conv2dReference"/> is the readable twin.
/// </summary>
/// <remarks>PyTorch: <c>torch.nn.functional.conv2d(..., groups=C)</c> (its CPU depthwise kernel, <c>conv_depthwise2d</c>).</remarks>
internal static unsafe partial class DepthwiseConv
{
    /// <summary>Depthwise geometries: one input channel per group, several groups (<see cref="ConvPlanner"/> chooses when it pays).</summary>
    public static bool Supports(in Conv2dGeometry g) => g.Cg == 1 && g.G > 1;

    /// <summary>
    /// Floats of one phase row, a multiple of 16 so that rows are written in whole vectors: at least ⌈Wp / SW⌉ (the
    /// phase's columns) and OW + (KW − 1)·DW / SW (the last output's farthest tap). Vectors of outputs past OW read on
    /// into the next row (or <see cref="TileSlack"/>): lanes that are dropped, or multiplied by dy = 0.
    /// </summary>
    private static int PhaseRow(in Conv2dGeometry g) =>
        (Math.Max((g.W + 2 * g.PW + g.SW - 1) / g.SW, g.OW + (g.KW - 1) * g.DW / g.SW) + 15) / 16 * 16;

    /// <summary>Floats of a padded, phase-split plane: Hp rows of SW phases of <paramref name="len"/> (<see cref="PhaseRow"/>).</summary>
    private static int PhasedPlane(in Conv2dGeometry g, int len) => (g.H + 2 * g.PH) * g.SW * len;

    // Output row to output row in a phased plane.
    private static long RowStep(in Conv2dGeometry g, int len) => (long)g.SH * g.SW * len;

    /// <summary>Floats of one thread's scratch for <see cref="ForwardImage"/>: a phased plane and the tiles' slack past it.</summary>
    public static int ScratchLength(in Conv2dGeometry g) => PhasedPlane(g, PhaseRow(g)) + (int)TileSlack(RowStep(g, PhaseRow(g)));

    /// <summary>
    /// y [OC, OH·OW] = act(conv(x [C, H, W]) + bias) of one image (bias null: none; ReLU with <paramref name="relu"/>, as
    /// ReluKernel's max(v, 0)). Each output starts from its bias and adds the taps in (kh, kw) order by FMAs
    /// (<see cref="GatherRows"/>); the scalar path computes the same sum.
    /// </summary>
    public static void ForwardImage(in Conv2dGeometry g, float* x, float* w, float* bias, bool relu, float* y, float* scratch)
    {
        int m = g.OCg, taps = g.KH * g.KW, len = PlaneRow(g), planeLength = PhasedPlane(g, len);
        int* offsets = stackalloc int[taps];
        long rowStep = TapOffsets(g, offsets, len);
        // The plane's border, which FillPlane does not write, and the slack that tiles past the last row read (zero, so that the
        // dropped lanes stay finite).
        new Span<float>(scratch, planeLength + (int)TileSlack(rowStep)).Clear();
        bool rows3x3 = TakesRows3x3(g);
        for (int c = 0; c < g.C; c++)
        {
            float* plane = x + (long)c * g.H * g.W;
            FillPlane(g, plane, scratch);
            for (int k = 0; k < m; k++)
            {
                int o = c * m + k;
                float init = bias != null ? bias[o] : 0f;
                float* yPlane = y + (long)o * g.OH * g.OW;
                if (rows3x3) GatherRows3x3(scratch, rowStep, w + (long)o * taps, init, relu, yPlane, g.OW, g.OH, g.OW);
                else GatherRows(scratch, rowStep, offsets, w + (long)o * taps, taps, init, relu, false, yPlane, g.OW, g.OH, g.OW);
            }
        }
    }

    // A 3x3 kernel at stride 1 without dilation whose rows fill an even number of vectors (GatherRows3x3's tiles are 2 wide).
    private static bool TakesRows3x3(in Conv2dGeometry g) =>
        Vector512.IsHardwareAccelerated && g.KH == 3 && g.KW == 3 && g.SH == 1 && g.SW == 1 && g.DH == 1 && g.DW == 1
        && (g.OW + 15) / 16 % 2 == 0;

    /// <summary>
    /// offsets[kh·KW + kw] = where tap (kh, kw) of output row 0, column 0 lies in a phased plane of <paramref name="len"/>
    /// floats a phase row (column j's is j floats on); returns the step from one output row to the next.
    /// </summary>
    private static long TapOffsets(in Conv2dGeometry g, int* offsets, int len)
    {
        for (int kh = 0; kh < g.KH; kh++)
            for (int kw = 0; kw < g.KW; kw++)
            {
                int shift = kw * g.DW;
                offsets[kh * g.KW + kw] = (kh * g.DH * g.SW + shift % g.SW) * len + shift / g.SW;
            }
        return RowStep(g, len);
    }

    /// <summary>
    /// Floats of a row of the plane <see cref="FillPlane"/> writes: at stride 1 along rows the padded rows as they are, Wp
    /// apart, else <see cref="PhaseRow"/>.
    /// </summary>
    private static int PlaneRow(in Conv2dGeometry g) => g.SW == 1 ? g.W + 2 * g.PW : PhaseRow(g);

    /// <summary>
    /// plane = the zero-padded x [H, W] in rows of <see cref="PlaneRow"/> floats, each padded row split into SW column phases
    /// (phase r holds columns r, r + SW, …: input column w at phase (w + PW) mod SW, (w + PW) / SW). Only the inside is
    /// written: the border must be zero already (cleared once per scratch, where padding every channel's plane would write
    /// every float of it).
    /// </summary>
    private static void FillPlane(in Conv2dGeometry g, float* x, float* plane)
    {
        if (g.SW == 1)
        {
            RowCopy.IntoPadded(x, 1, g.H, g.W, g.PH, g.PW, plane);
            return;
        }
        int len = PhaseRow(g);
        float* top = plane + (long)g.PH * g.SW * len;
        if (g.SW == 2)
        {
            StrideTwoRows.SplitIntoPhases(x, g.H, g.W, g.PW, top, len, 2 * len);
            return;
        }
        for (int h = 0; h < g.H; h++)
            for (int w = 0; w < g.W; w++) top[(long)h * g.SW * len + (w + g.PW) % g.SW * len + (w + g.PW) / g.SW] = x[(long)h * g.W + w];
    }
}
