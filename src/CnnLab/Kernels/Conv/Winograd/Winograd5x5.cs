using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend: a plane H x W (W ≤ 32) with zero padding 2, 5x5 kernel, stride 1, so the output is H x W too. Tiles:
// TH = ⌈H/2⌉ rows of TW = ⌈W/2⌉ tiles of 2x2 outputs; tile (ty, tx) reads the 6x6 input patch at rows 2ty − 2 … 2ty + 3,
// columns likewise. ξ = 6i + j names one of the 36 positions of a transformed tile.

/// <summary>
/// Winograd's minimal filtering F(2x2, 5x5) for a 5x5, stride-1, padding-2 convolution (Lavin &amp; Gray, CVPR 2016; the
/// points 0, ±1, ±2, ∞ of <see cref="Winograd4x4"/>, so the same input transform, <see cref="WinogradPatches"/>): per 2x2
/// output tile, Y = Aᵀ·[Σ_c (G·g_c·Gᵀ) ⊙ (Bᵀ·d_c·B)]·A with Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 1] and G's rows
/// [1 p p² p³ p⁴] / f_p
/// for the points p = 0, 1, −1, 2, −2 (f_p = Π_{q≠p} (p − q): 4, −6, −6, 24, 24) and [0 0 0 0 1] for ∞. 36 products per
/// channel pair and tile of 4 outputs against the direct sum's 25 per output: 2.8x fewer. Its rounding is that of
/// F(4x4, 3x3), a few parts in a million of the largest output. Planes up to 32 wide (<see cref="WinogradBlock"/> runs it;
/// the planner chooses where it pays). Written by hand: no .NET library has Winograd convolution.
/// </summary>
internal static unsafe partial class Winograd5x5
{
    /// <summary>True for 5x5, stride 1, dilation 1, padding 2, planes at most 32 wide, where AVX-512 runs.</summary>
    public static bool Supports(in Conv2dGeometry g) =>
        Avx512F.IsSupported && g is { KH: 5, KW: 5, SH: 1, SW: 1, DH: 1, DW: 1, PH: 2, PW: 2, W: <= WinogradPatches.MaxNarrowTileWidth };

    /// <summary>Tiles per plane, ⌈H/2⌉·⌈W/2⌉.</summary>
    public static int Tiles(int h, int w) => (h + 1) / 2 * ((w + 1) / 2);

    // G [6, 5], row by row.
    private static readonly double[] s_g = MakeG();

    private static double[] MakeG()
    {
        double[] points = [0, 1, -1, 2, -2], g = new double[30];
        for (int i = 0; i < 5; i++)
        {
            double f = 1;
            for (int q = 0; q < 5; q++)
                if (q != i) f *= points[i] - points[q];
            for (int k = 0; k < 5; k++) g[5 * i + k] = Math.Pow(points[i], k) / f;
        }
        g[29] = 1;
        return g;
    }

    /// <summary>
    /// u = G·k·Gᵀ for one 5x5 kernel k (row-major; turned 180° first with <paramref name="turned"/>): u[ξ·stride] for ξ = 6i + j,
    /// computed in double and rounded once.
    /// </summary>
    internal static void TransformKernel(float* k, bool turned, float* u, int stride)
    {
        var g = s_g;
        Span<double> gk = stackalloc double[30];   // G·k [6, 5]
        for (int i = 0; i < 6; i++)
            for (int c = 0; c < 5; c++)
            {
                double sum = 0;
                for (int a = 0; a < 5; a++) sum += g[5 * i + a] * k[turned ? 24 - (5 * a + c) : 5 * a + c];
                gk[5 * i + c] = sum;
            }
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++)
            {
                double sum = 0;
                for (int c = 0; c < 5; c++) sum += gk[5 * i + c] * g[5 * j + c];
                u[(6L * i + j) * stride] = (float)sum;
            }
    }

    /// <summary>
    /// y [H, W] (+)= act(Aᵀ·M·A + bias) of one plane from its tiles' 36 multiply outputs, as <see cref="Winograd4x4.TransformOutput"/>
    /// for tiles of 2x2 outputs: each output row's two tile columns interleaved by one permute per vector.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void TransformOutput(float* m, long xiStride, int h, int w, float* bias, bool relu, bool accumulate, float* y,
        int firstRow = 0, int endRow = -1)
    {
        if ((uint)(w - 1) >= WinogradPatches.MaxNarrowTileWidth) throw new ArgumentOutOfRangeException(nameof(w), w, "planes 1 to 32 wide");
        int th = endRow < 0 ? (h + 1) / 2 : endRow, tw = (w + 1) / 2, k = WinogradPatches.RowsPerVector(w, 2);
        // Lane 2q + b of an output row's first vector takes tile q's column b: b = 0 from the first operand, 1 from the second.
        var index = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        var maskLo = LaneMask.First(Math.Min(16, w)).AsSingle();
        var maskHi = LaneMask.First(w - 16).AsSingle();
        var b = bias != null ? Vector512.Create(*bias) : Vector512<float>.Zero;
        bool addBias = bias != null;
        for (int ty0 = firstRow; ty0 < th; ty0 += k)
        {
            float* p = m + ty0 * tw;
            Across(p, xiStride, 0, out var q00, out var q01);
            Across(p, xiStride, 1, out var q10, out var q11);
            Across(p, xiStride, 2, out var q20, out var q21);
            Across(p, xiStride, 3, out var q30, out var q31);
            Across(p, xiStride, 4, out var q40, out var q41);
            Across(p, xiStride, 5, out var q50, out var q51);
            Combine(q00, q10, q20, q30, q40, q50, out var y00, out var y10);
            Combine(q01, q11, q21, q31, q41, q51, out var y01, out var y11);
            for (int j = 0; j < k && ty0 + j < th; j++)
            {
                int ty = ty0 + j;
                var at = index + Vector512.Create(j * tw);
                float* top = y + (long)2 * ty * w;
                StoreRow(top, y00, y01, at, w, maskLo, maskHi, b, addBias, relu, accumulate);
                if (2 * ty + 1 < h) StoreRow(top + w, y10, y11, at, w, maskLo, maskHi, b, addBias, relu, accumulate);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Across(float* p, long xiStride, int i, out Vector512<float> o0, out Vector512<float> o1)
    {
        float* row = p + 6 * i * xiStride;
        Combine(Vector512.Load(row), Vector512.Load(row + xiStride), Vector512.Load(row + 2 * xiStride), Vector512.Load(row + 3 * xiStride),
            Vector512.Load(row + 4 * xiStride), Vector512.Load(row + 5 * xiStride), out o0, out o1);
    }

    // Aᵀ·(m0 … m5): (m0 + (m1 + m2) + (m3 + m4), (m1 − m2) + 2(m3 − m4) + m5).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Combine(Vector512<float> m0, Vector512<float> m1, Vector512<float> m2, Vector512<float> m3, Vector512<float> m4,
        Vector512<float> m5, out Vector512<float> o0, out Vector512<float> o1)
    {
        o0 = m0 + (m1 + m2) + (m3 + m4);
        o1 = Vector512.FusedMultiplyAdd(Vector512.Create(2f), m3 - m4, (m1 - m2) + m5);
    }

    // One output row from its tiles' two columns (lanes = tiles): tiles 0 … 7 into the first 16 floats, 8 … 15 into the next.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* y, Vector512<float> c0, Vector512<float> c1, Vector512<int> index, int w, Vector512<float> maskLo,
        Vector512<float> maskHi, Vector512<float> bias, bool addBias, bool relu, bool accumulate)
    {
        Winograd3x3.Finish(y, Avx512F.PermuteVar16x32x2(c0, index, c1), maskLo, bias, addBias, relu, accumulate);
        if (w > 16)
            Winograd3x3.Finish(y + 16, Avx512F.PermuteVar16x32x2(c0, index + Vector512.Create(8), c1), maskHi, bias, addBias, relu, accumulate);
    }

    /// <summary>
    /// dM_ξ = (A·dY·Aᵀ)_ξ of every tile of one output-gradient plane dy [H, W], the adjoint of <see cref="TransformOutput"/>
    /// (A·(y0, y1) = (y0, y0 + y1, y0 − y1, y0 + 2y1, y0 − 2y1, y1)): tile t's value for ξ goes to dm[ξ·xiStride + t], outputs
    /// outside the plane zero. A tile's 2x2 outputs are its patch's rows and columns 2 and 3, gathered as the input's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void TransformOutputGradient(float* dy, int h, int w, float* dm, long xiStride)
    {
        if ((uint)(w - 1) >= WinogradPatches.MaxNarrowTileWidth) throw new ArgumentOutOfRangeException(nameof(w), w, "planes 1 to 32 wide");
        var columns = WinogradPatches.ColumnsOf(w, 2);
        int th = (h + 1) / 2, tw = (w + 1) / 2, k = columns.RowsPerVector;
        for (int ty0 = 0; ty0 < th; ty0 += k)
        {
            int rows = Math.Min(k, th - ty0);
            // Output rows 2ty and 2ty + 1 of each tile row, each spread across (·Aᵀ) into six columns.
            OutputColumns(columns, dy, 2 * ty0, h, w, rows, out var a0, out var a1);
            OutputColumns(columns, dy, 2 * ty0 + 1, h, w, rows, out var b0, out var b1);
            float* dst = dm + ty0 * tw;
            Spread(a0, a1, out var t0, out var t1, out var t2, out var t3, out var t4, out var t5);
            Spread(b0, b1, out var u0, out var u1, out var u2, out var u3, out var u4, out var u5);
            // Then down each column j (A·): positions 6i + j.
            Down(dst, xiStride, 0, t0, u0);
            Down(dst, xiStride, 1, t1, u1);
            Down(dst, xiStride, 2, t2, u2);
            Down(dst, xiStride, 3, t3, u3);
            Down(dst, xiStride, 4, t4, u4);
            Down(dst, xiStride, 5, t5, u5);
        }
    }

    // A tile's two outputs in output row r of the vector's first tile row (r + 2j of tile row j), its patch columns 2 and 3,
    // gathered into the tiles' lanes as the input's patch columns are (WinogradPatches.Columns; zero outside the plane).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void OutputColumns(WinogradPatches.Columns columns, float* dy, int r, int h, int w, int rows, out Vector512<float> c0,
        out Vector512<float> c1)
    {
        var zero = Vector512<float>.Zero;
        Vector512<float> p0, p1 = zero, p2 = zero, p3 = zero;
        WinogradPatches.Row(dy, r, h, w, 0, out p0);
        if (w <= 16)
        {
            // A row a vector: tile rows 0, 1 by the first permute, 2, 3 by the second.
            if (rows > 1) WinogradPatches.Row(dy, r + 2, h, w, 0, out p1);
            if (rows > 2) WinogradPatches.Row(dy, r + 4, h, w, 0, out p2);
            if (rows > 3) WinogradPatches.Row(dy, r + 6, h, w, 0, out p3);
        }
        else
        {
            // Two vectors a row: tile row 0 by the first permute, 1 by the second.
            WinogradPatches.Row(dy, r, h, w, 16, out p1);
            if (rows > 1)
            {
                WinogradPatches.Row(dy, r + 2, h, w, 0, out p2);
                WinogradPatches.Row(dy, r + 2, h, w, 16, out p3);
            }
        }
        c0 = WinogradPatches.Gather(p0, p1, p2, p3, columns.Index[2], columns.Second[2]);
        c1 = WinogradPatches.Gather(p0, p1, p2, p3, columns.Index[3], columns.Second[3]);
        // Planes 16 or 32 wide have no float known to be zero: the columns outside the plane are cleared.
        if (columns.Exact) (c0, c1) = (c0 & columns.Inside[2], c1 & columns.Inside[3]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Down(float* dst, long xiStride, int j, Vector512<float> y0, Vector512<float> y1)
    {
        Spread(y0, y1, out var o0, out var o1, out var o2, out var o3, out var o4, out var o5);
        WinogradPatches.StoreSix(dst + j * xiStride, 6 * xiStride, o0, o1, o2, o3, o4, o5);
    }

    // A·(y0, y1).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Spread(Vector512<float> y0, Vector512<float> y1, out Vector512<float> o0, out Vector512<float> o1,
        out Vector512<float> o2, out Vector512<float> o3, out Vector512<float> o4, out Vector512<float> o5)
    {
        var twice = y1 + y1;
        (o0, o1, o2, o3, o4, o5) = (y0, y0 + y1, y0 - y1, y0 + twice, y0 - twice, y1);
    }

    /// <summary>dk [5, 5] += Gᵀ·dU·G for one (o, c), dU [6, 6] at ξ = 6i + j: the adjoint of <see cref="TransformKernel"/>, in double.</summary>
    internal static void KernelGradient(ReadOnlySpan<float> du, Span<float> dk)
    {
        var g = s_g;
        Span<double> t = stackalloc double[30];   // Gᵀ·dU [5, 6]
        for (int a = 0; a < 5; a++)
            for (int j = 0; j < 6; j++)
            {
                double sum = 0;
                for (int i = 0; i < 6; i++) sum += g[5 * i + a] * du[6 * i + j];
                t[6 * a + j] = sum;
            }
        for (int a = 0; a < 5; a++)
            for (int c = 0; c < 5; c++)
            {
                double sum = 0;
                for (int j = 0; j < 6; j++) sum += t[6 * a + j] * g[5 * j + c];
                dk[5 * a + c] += (float)sum;
            }
    }
}
