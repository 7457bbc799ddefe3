using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend: a plane H x W with zero padding 1, 3x3 kernel, stride 1, so the output is H x W too. Tiles:
// TH = ⌈H/2⌉ rows of TW = ⌈W/2⌉ tiles of 2x2 outputs, T = TH·TW per plane; tile (ty, tx) reads the 4x4
// input patch at rows 2ty − 1 … 2ty + 2, columns 2tx − 1 … 2tx + 2. ξ = 4i + j names one of the 16
// positions of a transformed 4x4 tile.

/// <summary>
/// Winograd's minimal filtering F(2x2, 3x3) for a 3x3, stride-1, padding-1 convolution (Lavin &amp; Gray,
/// "Fast Algorithms for Convolutional Neural Networks", CVPR 2016): per 2x2 output tile,
/// Y = Aᵀ·[Σ_c (G·g_c·Gᵀ) ⊙ (Bᵀ·d_c·B)]·A with
/// Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1], G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1], Aᵀ = [1 1 1 0; 0 1 −1 −1].
/// The sum over channels at each of the 16 positions ξ is a matrix product, U_ξ [OC, C] · V_ξ [C, tiles]: 16·OC·C
/// multiply-adds per tile where im2col + GEMM does 36·OC·C, so 2.25x fewer. The transforms are
/// adds and shuffles, vectorized 16 tiles at a time (AVX-512 only; elsewhere the convolution keeps
/// im2col). Rounding differs from the direct sum by a few ulps of the largest partial products (the
/// transforms' coefficients are 0, ±½, ±1), as with oneDNN's and cuDNN's Winograd kernels.
/// Written by hand: no .NET library has Winograd convolution.
/// </summary>
/// <remarks>PyTorch: what oneDNN's <c>convolution_winograd</c> algorithm computes for these convolutions.</remarks>
internal static unsafe partial class Winograd3x3
{
    /// <summary>True for 3x3, stride 1, dilation 1, padding 1, where AVX-512 runs (<see cref="ConvPlanner"/> chooses).</summary>
    public static bool Supports(in Conv2dGeometry g) =>
        Avx512F.IsSupported && g is { KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PH: 1, PW: 1 };

    /// <summary>Tiles per plane, ⌈H/2⌉·⌈W/2⌉.</summary>
    public static int Tiles(int h, int w) => (h + 1) / 2 * ((w + 1) / 2);

    /// <summary>
    /// Tiles of one block of images: up to 512 (8 images of 14x14, 2 of 28x28), whose transformed inputs
    /// (16·512 floats a channel) stay in L2 while <see cref="WinogradBlock"/> multiplies them chunk by chunk.
    /// </summary>
    internal const int BlockColumns = 512;

    /// <summary>
    /// Images per block: the most (a power of two, at most 16) whose <paramref name="tiles"/> each fit in
    /// <paramref name="columns"/> columns, at least 1 (the tests pass few columns to make full and short blocks of a few images).
    /// </summary>
    public static int ImagesPerBlock(int tiles, int columns)
    {
        int images = 1;
        while (images < 16 && 2 * images * tiles <= columns) images *= 2;
        return images;
    }

    /// <summary>
    /// u = G·k·Gᵀ for one 3x3 kernel k (row-major; turned 180° first with <paramref name="turned"/>): u[ξ·stride]
    /// for ξ = 4i + j.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void TransformKernel(float* k, bool turned, float* u, int stride)
    {
        // Rows of G·k (4x3), then each row times Gᵀ.
        float k00 = k[0], k01 = k[1], k02 = k[2], k10 = k[3], k11 = k[4], k12 = k[5], k20 = k[6], k21 = k[7], k22 = k[8];
        if (turned)
            (k00, k01, k02, k10, k12, k20, k21, k22) = (k22, k21, k20, k12, k10, k02, k01, k00);
        Row(k00, k01, k02, u, stride);
        Row(0.5f * (k00 + k10 + k20), 0.5f * (k01 + k11 + k21), 0.5f * (k02 + k12 + k22), u + 4L * stride, stride);
        Row(0.5f * (k00 - k10 + k20), 0.5f * (k01 - k11 + k21), 0.5f * (k02 - k12 + k22), u + 8L * stride, stride);
        Row(k20, k21, k22, u + 12L * stride, stride);

        static void Row(float a, float b, float c, float* row, int stride)
        {
            row[0] = a;
            row[stride] = 0.5f * (a + b + c);
            row[2L * stride] = 0.5f * (a - b + c);
            row[3L * stride] = c;
        }
    }

    /// <summary>
    /// Floats of <see cref="TransformInput"/>'s scratch for planes of w columns and h rows (zero it once), or of
    /// <see cref="SplitPadded"/>'s with <paramref name="pad"/> zero rows and columns around the plane.
    /// </summary>
    public static int ScratchLength(int h, int w, int pad = 1) => 2 * ScratchRows(h, pad) * ScratchStride(w);

    // Rows of each of the scratch's E and O halves: the plane's, rounded up to even, and pad zero rows above and below.
    private static int ScratchRows(int h, int pad) => (h + 1) / 2 * 2 + 2 * pad;

    internal static int ScratchStride(int w) => ((w + 1) / 2 + 15) / 16 * 16 + 32;

    /// <summary>
    /// V_ξ = (Bᵀ·d·B)_ξ of every tile of one plane x [H, W]: tile t's value for position ξ goes to
    /// v[ξ·xiStride + t]. Writes run 16 tiles at a time in increasing t and may spill up to 15 floats past
    /// the plane's last tile (which later writes or the block's padding take). A tile's four columns are the
    /// padded row's even and odd columns E[j], O[j], E[j + 1], O[j + 1] (E[r, j] = x[r − 1, 2j − 1],
    /// O[r, j] = x[r − 1, 2j]): a plane of at most 8 x 8 has all its tiles in one vector (<see cref="TransformSmallInput"/>);
    /// for a plane up to <see cref="NarrowWidth"/> wide they are made in registers
    /// (<see cref="TransformNarrowInput"/>); a wider one is first split into the scratch
    /// (<see cref="TransformSplitInput"/>: contiguous loads for 16 tiles in a row).
    /// <paramref name="scratch"/> (<see cref="ScratchLength"/> floats) must be zero where it was never
    /// written: only the rows and columns inside the plane are written there.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void TransformInput(float* x, int h, int w, float* scratch, float* v, long xiStride)
    {
        if (h <= SmallSide && w <= SmallSide) TransformSmallInput(x, h, w, v, xiStride);
        else if (w <= NarrowWidth) TransformNarrowInput(x, h, w, v, xiStride);
        else TransformSplitInput(x, h, w, scratch, v, xiStride);
    }

    /// <summary><see cref="TransformInput"/> through the scratch, for any width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void TransformSplitInput(float* x, int h, int w, float* scratch, float* v, long xiStride)
    {
        int th = (h + 1) / 2, tw = (w + 1) / 2;
        SplitPadded(x, h, w, scratch, out var e, out var o, out int s);
        for (int ty = 0; ty < th; ty++)
        {
            float* re = e + 2L * ty * s, ro = o + 2L * ty * s;
            float* dst = v + ty * tw;
            for (int tb = 0; tb < tw; tb += 16)
            {
                // Bᵀ·d down the columns (rows 2ty … 2ty + 3), for E and O at tile offsets 0 and +1.
                Column(re + tb, s, out var e00, out var e01, out var e02, out var e03);
                Column(re + tb + 1, s, out var e10, out var e11, out var e12, out var e13);
                Column(ro + tb, s, out var o00, out var o01, out var o02, out var o03);
                Column(ro + tb + 1, s, out var o10, out var o11, out var o12, out var o13);
                // ·B across: columns (E[j], O[j], E[j + 1], O[j + 1]) → (E[j] − E[j+1], O[j] + E[j+1], E[j+1] − O[j], O[j] − O[j+1]).
                Row(dst + tb, xiStride, 0, e00, o00, e10, o10);
                Row(dst + tb, xiStride, 1, e01, o01, e11, o11);
                Row(dst + tb, xiStride, 2, e02, o02, e12, o12);
                Row(dst + tb, xiStride, 3, e03, o03, e13, o13);
            }
        }
    }

    /// <summary>
    /// Splits the plane x [H, W], padded by <paramref name="pad"/> (1 or 2) zero rows and columns on every side
    /// (xp[r, c] = x[r − pad, c − pad]), into its even and odd padded columns: E[r, j] = xp[r, 2j],
    /// O[r, j] = xp[r, 2j + 1], rows <paramref name="stride"/> floats apart, O after E's ⌈H/2⌉·2 + 2·pad rows in
    /// <paramref name="scratch"/> (<see cref="ScratchLength"/> floats for the same pad, zero where never written:
    /// only the plane's own rows and columns are). A 3x3 window at padded column 2j (an even output column) then
    /// reads E[j], O[j], E[j + 1], and one at 2j + 1 reads O[j], E[j + 1], O[j + 1]: contiguous loads for 16
    /// neighbouring windows of either parity (a 5x5 window: E[j] … E[j + 2] and O[j] … O[j + 2] likewise).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void SplitPadded(float* x, int h, int w, float* scratch, out float* e, out float* o, out int stride, int pad = 1)
    {
        if (pad is not (1 or 2)) throw new ArgumentOutOfRangeException(nameof(pad), pad, "padding 1 or 2");
        int s = ScratchStride(w), rows = ScratchRows(h, pad);
        // Locals in the loop (the out parameters are written once, here): stores through them would make
        // the JIT reload them after every vector store.
        float* even0 = scratch, odd0 = scratch + (long)rows * s;
        e = even0;
        o = odd0;
        stride = s;
        // x's even columns 2m are padded column 2m + pad: odd (O[m]) for pad 1, even (E[m + 1]) for pad 2; its odd
        // columns follow them (E[m + 1], O[m + 1]).
        float* fromEven = pad == 1 ? odd0 : even0 + 1, fromOdd = pad == 1 ? even0 + 1 : odd0 + 1;
        for (int c0 = 0; c0 < w; c0 += 32)
        {
            int count = Math.Min(32, w - c0);
            var maskLo = LaneMask.First(Math.Min(16, count)).AsSingle();
            var maskHi = LaneMask.First(count - 16).AsSingle();
            for (int r = 0; r < h; r++)
            {
                SplitColumns(x + (long)r * w + c0, count, (long)(h - r) * w - c0, maskLo, maskHi, out var even, out var odd);
                even.Store(fromEven + (long)(r + pad) * s + c0 / 2);
                odd.Store(fromOdd + (long)(r + pad) * s + c0 / 2);
            }
        }
    }

    /// <summary>
    /// The even and odd columns of <paramref name="count"/> (up to 32) floats from <paramref name="row"/>, zero
    /// past them; the masks are the first min(16, count) and count − 16 lanes. <paramref name="readable"/>: how
    /// many floats from <paramref name="row"/> on may be read (to the plane's end). A vector inside the plane is
    /// loaded whole and its extra lanes cleared with the mask (the same bits); only one that would reach past
    /// the plane's end is a masked load (out of L2, a masked load took about twice a whole one here).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void SplitColumns(float* row, int count, long readable, Vector512<float> maskLo, Vector512<float> maskHi,
        out Vector512<float> even, out Vector512<float> odd)
    {
        var zero = Vector512<float>.Zero;
        var lo = readable >= 16 ? Vector512.Load(row) & maskLo : Avx512F.MaskLoad(row, maskLo, zero);
        var hi = count <= 16 ? zero : readable >= 32 ? Vector512.Load(row + 16) & maskHi : Avx512F.MaskLoad(row + 16, maskHi, zero);
        var evens = Vector512<int>.Indices * 2;   // lanes 0, 2, …, 30 of (lo, hi); odd ones one further
        even = Avx512F.PermuteVar16x32x2(lo, evens, hi);
        odd = Avx512F.PermuteVar16x32x2(lo, evens + Vector512<int>.One, hi);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Column(float* p, int s, out Vector512<float> r0, out Vector512<float> r1, out Vector512<float> r2, out Vector512<float> r3)
    {
        var d0 = Vector512.Load(p);
        var d1 = Vector512.Load(p + s);
        var d2 = Vector512.Load(p + 2 * s);
        var d3 = Vector512.Load(p + 3 * s);
        r0 = d0 - d2;
        r1 = d1 + d2;
        r2 = d2 - d1;
        r3 = d1 - d3;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row(float* dst, long xiStride, int i, Vector512<float> e0, Vector512<float> o0, Vector512<float> e1, Vector512<float> o1)
    {
        float* p = dst + 4 * i * xiStride;
        (e0 - e1).Store(p);
        (o0 + e1).Store(p + xiStride);
        (e1 - o0).Store(p + 2 * xiStride);
        (o0 - o1).Store(p + 3 * xiStride);
    }

    /// <summary>
    /// y [H, W] (+)= act(Aᵀ·M·A + bias) of one plane from its tiles' 16 multiply outputs, tile t's value for
    /// position ξ at m[ξ·xiStride + t] (read 16 tiles at a time, up to 15 floats past the last tile row's last
    /// tile), for tile rows <paramref name="firstRow"/> … <paramref name="endRow"/> − 1 (−1: to the last; only
    /// those rows' tiles are read). Bias (when <paramref name="bias"/> is not null) then ReLU as the GEMM's epilogue
    /// would apply them; with <paramref name="accumulate"/>, added to y (no bias or ReLU then). Stores are masked to the plane.
    /// (A whole plane of at most 8 x 8 can go all at once instead: <see cref="TransformSmallOutput"/>.)
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void TransformOutput(float* m, long xiStride, int h, int w, float* bias, bool relu, bool accumulate, float* y,
        int firstRow = 0, int endRow = -1)
    {
        int th = endRow < 0 ? (h + 1) / 2 : endRow, tw = (w + 1) / 2;
        var first = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        var second = first + Vector512.Create(8);
        var b = bias != null ? Vector512.Create(*bias) : Vector512<float>.Zero;
        bool addBias = bias != null;
        for (int tb = 0; tb < tw; tb += 16)
        {
            int col = 2 * tb, count = Math.Min(32, w - col);
            var maskLo = LaneMask.First(Math.Min(16, count)).AsSingle();
            var maskHi = LaneMask.First(count - 16).AsSingle();
            for (int ty = firstRow; ty < th; ty++)
            {
                float* p = m + ty * tw + tb;
                // Aᵀ·M down the columns: rows (m0 + m1 + m2, m1 − m2 − m3) for each of the 4 columns.
                Down(p, xiStride, 0, out var s0, out var u0);
                Down(p, xiStride, 1, out var s1, out var u1);
                Down(p, xiStride, 2, out var s2, out var u2);
                Down(p, xiStride, 3, out var s3, out var u3);
                // ·A across: (c0 + c1 + c2, c1 − c2 − c3).
                float* top = y + (long)2 * ty * w + col;
                StorePair(top, s0 + s1 + s2, s1 - s2 - s3, first, second, count, maskLo, maskHi, b, addBias, relu, accumulate);
                if (2 * ty + 1 < h)
                    StorePair(top + w, u0 + u1 + u2, u1 - u2 - u3, first, second, count, maskLo, maskHi, b, addBias, relu, accumulate);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Down(float* p, long xiStride, int j, out Vector512<float> s, out Vector512<float> u)
    {
        var m0 = Vector512.Load(p + j * xiStride);
        var m1 = Vector512.Load(p + (4 + j) * xiStride);
        var m2 = Vector512.Load(p + (8 + j) * xiStride);
        var m3 = Vector512.Load(p + (12 + j) * xiStride);
        s = m0 + m1 + m2;
        u = m1 - m2 - m3;
    }

    // Interleaves the even (a) and odd (b) output columns of 16 tiles into 32 outputs and stores count of them.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StorePair(float* y, Vector512<float> a, Vector512<float> b, Vector512<int> first, Vector512<int> second,
        int count, Vector512<float> maskLo, Vector512<float> maskHi, Vector512<float> bias, bool addBias, bool relu, bool accumulate)
    {
        Finish(y, Avx512F.PermuteVar16x32x2(a, first, b), maskLo, bias, addBias, relu, accumulate);
        if (count > 16) Finish(y + 16, Avx512F.PermuteVar16x32x2(a, second, b), maskHi, bias, addBias, relu, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Finish(float* y, Vector512<float> v, Vector512<float> mask, Vector512<float> bias, bool addBias, bool relu, bool accumulate)
    {
        if (accumulate) v = Avx512F.MaskLoad(y, mask, Vector512<float>.Zero) + v;
        else
        {
            if (addBias) v += bias;
            if (relu) v = Vector512.Max(v, Vector512<float>.Zero);
        }
        Avx512F.MaskStore(y, mask, v);
    }
}
