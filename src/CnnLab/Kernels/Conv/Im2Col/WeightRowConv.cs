using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend as in Conv2dKernel.cs; R = Cg·KH·KW, a weight row's length (w [OC, R] as given); P = OH·OW. Rows of the
// receptive fields ("im2row", the transpose of im2col's columns): rows [P4, R16], row p holding x's values under output pixel
// p's window in w's order (c, u, v), zero where the window is on the padding; P4 = P rounded up to 4 (the extra rows zero),
// R16 = R rounded up to 16 (zero past R).

/// <summary>
/// A convolution that reads the weights where they lie: y[o, p] = b[o] + W[o, :] · rows[p, :], one dot product per output
/// along the weight row, 4 output channels by 4 pixels at a time (16 sums of 16 lanes, each added up across its lanes at the
/// end). Where each weight is used only a few times a call (a single image on a 2x2 or 1x1 output plane, the tail of a
/// deep network), every other algorithm prepares its weights first (packs them for the GEMM or a direct kernel), which costs
/// as much as using them, and inference then keeps them (<see cref="ConvPlanCache"/>) at the price of comparing the weights
/// with their snapshot on every call, twice the weights' bytes. Here nothing is prepared, kept or compared: the weights are
/// read once, straight from memory. Each output is one fixed sum (16 lane sums along the row, then the lanes in a fixed
/// order), so the bits do not depend on the threads. Written by hand: no .NET library has a convolution.
/// </summary>
/// <remarks>PyTorch: what its CPU path does for such layers through oneDNN's gemv-based convolution (no weight reorder).</remarks>
internal sealed unsafe class WeightRowConv
{
    private const int PixelsPerStep = 4, RowsPerStep = 4, Lanes = 16;

    private readonly Conv2dGeometry _g;
    private readonly int _rowLength, _rowStride, _rows, _paddedH, _paddedW;

    public WeightRowConv(in Conv2dGeometry g)
    {
        if (!Supports(g)) throw new ArgumentException("the weight-row convolution needs AVX-512");
        _g = g;
        _rowLength = g.ColRows;
        _rowStride = (_rowLength + Lanes - 1) / Lanes * Lanes;
        _rows = (g.ColCols + PixelsPerStep - 1) / PixelsPerStep * PixelsPerStep;
        (_paddedH, _paddedW) = (g.H + 2 * g.PH, g.W + 2 * g.PW);
    }

    /// <summary>Whether it can run <paramref name="g"/>: any geometry, on AVX-512.</summary>
    public static bool Supports(in Conv2dGeometry g) => Avx512F.IsSupported;

    /// <summary>
    /// Floats of scratch <see cref="ForwardImage"/> needs: the rows and one group's zero-bordered input, each with a vector's
    /// slack (the tap copies read and write up to a vector at a time).
    /// </summary>
    public long ScratchLength => RowsLength + (long)_g.Cg * _paddedH * _paddedW + Lanes;

    private long RowsLength => (long)_rows * _rowStride + Lanes;

    /// <summary>
    /// y [OC, P] = conv(x [C, H, W]) + bias of one image (bias null: none), max(0, ·) with <paramref name="relu"/>, reading
    /// <paramref name="w"/> [OC, R] in place.
    /// </summary>
    public void ForwardImage(float* x, float* w, float* bias, bool relu, float* y, float* scratch)
    {
        var g = _g;
        float* rows = scratch, padded = scratch + RowsLength;
        int blocks = (g.OCg + RowsPerStep - 1) / RowsPerStep;
        bool split = ThreadSplit.Pays(blocks, (long)RowsPerStep * _rowStride * _rows, out int minChunk);
        for (int grp = 0; grp < g.G; grp++)
        {
            FillRows(x + (long)grp * g.Cg * g.H * g.W, padded, rows);
            if (split) SplitBlocks(grp * g.OCg, blocks, minChunk, rows, w, bias, relu, y);
            else
                for (int k = 0; k < blocks; k++) Block(grp * g.OCg, k * RowsPerStep, rows, w, bias, relu, y);
        }
    }

    // The blocks of a group on the threads (a method of its own: the loop's closure is allocated only where it runs).
    private void SplitBlocks(int first, int blocks, int minChunk, float* rows, float* w, float* bias, bool relu, float* y)
    {
        nint rs = (nint)rows, ws = (nint)w, bs = (nint)bias, ys = (nint)y;
        Parallelism.For(blocks, minChunk, (start, end) =>
        {
            for (int k = start; k < end; k++) Block(first, k * RowsPerStep, (float*)rs, (float*)ws, (float*)bs, relu, (float*)ys);
        });
    }

    // rows [P4, R16] of one group's input xg [Cg, H, W], by way of its zero-bordered copy (so no tap needs a bounds test).
    private void FillRows(float* xg, float* padded, float* rows)
    {
        var g = _g;
        int hp = _paddedH, wp = _paddedW, plane = hp * wp;
        new Span<float>(padded, g.Cg * plane).Clear();
        RowCopy.IntoPadded(xg, g.Cg, g.H, g.W, g.PH, g.PW, padded);
        int p = 0;
        for (; p < g.ColCols; p++)
        {
            float* row = rows + (long)p * _rowStride;
            int i = p / g.OW, j = p % g.OW, k = 0;
            float* window = padded + (long)i * g.SH * wp + (long)j * g.SW;
            for (int c = 0; c < g.Cg; c++)
                for (int u = 0; u < g.KH; u++, k += g.KW)
                    CopyTaps(window + (long)c * plane + (long)u * g.DH * wp, row + k, g.KW, g.DW);
            // The slack the vector copies wrote past R, and the rest of the row, zero.
            new Span<float>(row + _rowLength, _rowStride - _rowLength).Clear();
        }
        new Span<float>(rows + (long)p * _rowStride, (_rows - p) * _rowStride).Clear();
    }

    // A window row's taps: contiguous ones (no dilation) as one vector that may write past them (the next taps overwrite
    // it; the buffers have a vector of slack).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyTaps(float* src, float* dst, int taps, int dilation)
    {
        if (dilation == 1 && taps <= 4) Vector128.Store(Vector128.Load(src), dst);
        else if (dilation == 1 && taps <= 8) Vector256.Store(Vector256.Load(src), dst);
        else if (dilation == 1 && taps <= 16) Vector512.Store(Vector512.Load(src), dst);
        else
            for (int v = 0; v < taps; v++) dst[v] = src[(long)v * dilation];
    }

    // Outputs [o0, o0 + 4) of the group starting at channel `first`, every pixel: rows past the group's end repeat its last
    // (computed, not stored).
    private void Block(int first, int o0, float* rows, float* w, float* bias, bool relu, float* y)
    {
        var g = _g;
        int valid = Math.Min(RowsPerStep, g.OCg - o0), length = _rowLength, full = length / Lanes * Lanes, p = g.ColCols;
        float* w0 = w + (long)(first + o0) * length;
        float* w1 = w0 + (long)Math.Min(1, valid - 1) * length, w2 = w0 + (long)Math.Min(2, valid - 1) * length;
        float* w3 = w0 + (long)Math.Min(3, valid - 1) * length;
        var tail = LaneMask.First(length - full).AsSingle();
        float* next = w0 + (long)RowsPerStep * length;
        for (int p0 = 0; p0 < _rows; p0 += PixelsPerStep)
        {
            float* a0 = rows + (long)p0 * _rowStride, a1 = a0 + _rowStride, a2 = a1 + _rowStride, a3 = a2 + _rowStride;
            Vector512<float> s00 = default, s01 = default, s02 = default, s03 = default, s10 = default, s11 = default, s12 = default;
            Vector512<float> s13 = default, s20 = default, s21 = default, s22 = default, s23 = default, s30 = default, s31 = default;
            Vector512<float> s32 = default, s33 = default;
            for (int k = 0; k < _rowStride; k += Lanes)
            {
                // The next block's four rows (one stretch of memory) are asked for into L2, four lines a step, so that each
                // block finds its rows there: the hardware's prefetcher alone fell behind four rows read at once.
                float* ahead = next + 4L * k;
                Sse.Prefetch1(ahead);
                Sse.Prefetch1(ahead + Lanes);
                Sse.Prefetch1(ahead + 2 * Lanes);
                Sse.Prefetch1(ahead + 3 * Lanes);
                var x0 = Vector512.Load(a0 + k);
                var x1 = Vector512.Load(a1 + k);
                var x2 = Vector512.Load(a2 + k);
                var x3 = Vector512.Load(a3 + k);
                bool whole = k < full;
                var v = whole ? Vector512.Load(w0 + k) : Avx512F.MaskLoad(w0 + k, tail, Vector512<float>.Zero);
                (s00, s01, s02, s03) = (Fma(v, x0, s00), Fma(v, x1, s01), Fma(v, x2, s02), Fma(v, x3, s03));
                v = whole ? Vector512.Load(w1 + k) : Avx512F.MaskLoad(w1 + k, tail, Vector512<float>.Zero);
                (s10, s11, s12, s13) = (Fma(v, x0, s10), Fma(v, x1, s11), Fma(v, x2, s12), Fma(v, x3, s13));
                v = whole ? Vector512.Load(w2 + k) : Avx512F.MaskLoad(w2 + k, tail, Vector512<float>.Zero);
                (s20, s21, s22, s23) = (Fma(v, x0, s20), Fma(v, x1, s21), Fma(v, x2, s22), Fma(v, x3, s23));
                v = whole ? Vector512.Load(w3 + k) : Avx512F.MaskLoad(w3 + k, tail, Vector512<float>.Zero);
                (s30, s31, s32, s33) = (Fma(v, x0, s30), Fma(v, x1, s31), Fma(v, x2, s32), Fma(v, x3, s33));
            }
            int pixels = Math.Min(PixelsPerStep, p - p0);
            float* yo = y + (long)(first + o0) * p + p0;
            Store(Sum4(s00, s01, s02, s03), bias, first + o0, relu, yo, pixels);
            if (valid > 1) Store(Sum4(s10, s11, s12, s13), bias, first + o0 + 1, relu, yo + p, pixels);
            if (valid > 2) Store(Sum4(s20, s21, s22, s23), bias, first + o0 + 2, relu, yo + 2L * p, pixels);
            if (valid > 3) Store(Sum4(s30, s31, s32, s33), bias, first + o0 + 3, relu, yo + 3L * p, pixels);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Fma(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);

    // The four vectors' lane sums, [Σa, Σb, Σc, Σd]: halves added, then pairs (the same order for every output).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Sum4(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d)
    {
        var ab = Avx.HorizontalAdd(a.GetLower() + a.GetUpper(), b.GetLower() + b.GetUpper());
        var cd = Avx.HorizontalAdd(c.GetLower() + c.GetUpper(), d.GetLower() + d.GetUpper());
        var all = Avx.HorizontalAdd(ab, cd);
        return all.GetLower() + all.GetUpper();
    }

    // One output channel's sums for up to 4 pixels, plus its bias and rectified as the other kernels do (Vector512.Max's rule).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector128<float> sums, float* bias, int o, bool relu, float* y, int pixels)
    {
        if (bias != null) sums += Vector128.Create(bias[o]);
        if (relu) sums = Vector128.Max(sums, Vector128<float>.Zero);
        if (pixels == PixelsPerStep) sums.Store(y);
        else
            for (int i = 0; i < pixels; i++) y[i] = sums.GetElement(i);
    }
}
