using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend as in Winograd4x4.cs.

internal static unsafe partial class Winograd4x4
{
    /// <summary>
    /// y [H, W] (+)= act(Aᵀ·M·A + bias) of one plane from its tiles' 36 multiply outputs, tile t's value for position ξ at
    /// m[ξ·xiStride + t] (read 16 tiles at a time, up to 15 floats past the last tile row's last tile), for tile rows
    /// <paramref name="firstRow"/> … <paramref name="endRow"/> − 1 (−1: to the last). Bias (when <paramref name="bias"/> is not
    /// null) then ReLU as the GEMM's epilogue would apply them; with <paramref name="accumulate"/>, added to y (no bias or
    /// ReLU then). A vector of tiles holds <see cref="WinogradPatches.RowsPerVector"/> tile rows, transformed together; each output row's four
    /// tile columns are then interleaved by two permutes and a blend per vector, and stores are masked to the plane.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void TransformOutput(float* m, long xiStride, int h, int w, float* bias, bool relu, bool accumulate, float* y,
        int firstRow = 0, int endRow = -1)
    {
        if ((uint)(w - 1) >= MaxWidth) throw new ArgumentOutOfRangeException(nameof(w), w, $"planes 1 to {MaxWidth} wide");
        int th = endRow < 0 ? (h + 3) / 4 : endRow, tw = (w + 3) / 4;
        // Lane 4q + k of a row's first vector takes tile q's column k: k = 0 and 2 from the first operand, 1 and 3 from the second.
        var index = Vector512.Create(0, 16, 0, 16, 1, 17, 1, 17, 2, 18, 2, 18, 3, 19, 3, 19);
        var upper = Vector512.Create(0, 0, -1, -1, 0, 0, -1, -1, 0, 0, -1, -1, 0, 0, -1, -1).AsSingle();
        var maskLo = LaneMask.First(Math.Min(16, w)).AsSingle();
        var maskHi = LaneMask.First(w - 16).AsSingle();
        var b = bias != null ? Vector512.Create(*bias) : Vector512<float>.Zero;
        bool addBias = bias != null;
        // A vector of tiles holds RowsPerVector tile rows, lane l tile row l / TW's tile l % TW: one transform serves them all.
        int k = WinogradPatches.RowsPerVector(w, 4);
        for (int ty0 = firstRow; ty0 < th; ty0 += k)
        {
            float* p = m + ty0 * tw;
            // ·A across each row i of M: q_ik, k = 0 … 3.
            Across(p, xiStride, 0, out var q00, out var q01, out var q02, out var q03);
            Across(p, xiStride, 1, out var q10, out var q11, out var q12, out var q13);
            Across(p, xiStride, 2, out var q20, out var q21, out var q22, out var q23);
            Across(p, xiStride, 3, out var q30, out var q31, out var q32, out var q33);
            Across(p, xiStride, 4, out var q40, out var q41, out var q42, out var q43);
            Across(p, xiStride, 5, out var q50, out var q51, out var q52, out var q53);
            // Aᵀ· down each column k: output rows 0 … 3.
            Combine(q00, q10, q20, q30, q40, q50, out var y00, out var y10, out var y20, out var y30);
            Combine(q01, q11, q21, q31, q41, q51, out var y01, out var y11, out var y21, out var y31);
            Combine(q02, q12, q22, q32, q42, q52, out var y02, out var y12, out var y22, out var y32);
            Combine(q03, q13, q23, q33, q43, q53, out var y03, out var y13, out var y23, out var y33);
            for (int j = 0; j < k && ty0 + j < th; j++)
            {
                int ty = ty0 + j, rows = Math.Min(4, h - 4 * ty);
                var at = index + Vector512.Create(j * tw);
                float* top = y + (long)4 * ty * w;
                StoreRow(top, y00, y01, y02, y03, at, upper, w, maskLo, maskHi, b, addBias, relu, accumulate);
                if (rows > 1) StoreRow(top + w, y10, y11, y12, y13, at, upper, w, maskLo, maskHi, b, addBias, relu, accumulate);
                if (rows > 2) StoreRow(top + 2 * w, y20, y21, y22, y23, at, upper, w, maskLo, maskHi, b, addBias, relu, accumulate);
                if (rows > 3) StoreRow(top + 3 * w, y30, y31, y32, y33, at, upper, w, maskLo, maskHi, b, addBias, relu, accumulate);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Across(float* p, long xiStride, int i, out Vector512<float> o0, out Vector512<float> o1, out Vector512<float> o2,
        out Vector512<float> o3)
    {
        float* row = p + 6 * i * xiStride;
        Combine(Vector512.Load(row), Vector512.Load(row + xiStride), Vector512.Load(row + 2 * xiStride), Vector512.Load(row + 3 * xiStride),
            Vector512.Load(row + 4 * xiStride), Vector512.Load(row + 5 * xiStride), out o0, out o1, out o2, out o3);
    }

    // Aᵀ·(m0 … m5): (m0 + (m1 + m2) + (m3 + m4), (m1 − m2) + 2(m3 − m4), (m1 + m2) + 4(m3 + m4), (m1 − m2) + 8(m3 − m4) + m5).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Combine(Vector512<float> m0, Vector512<float> m1, Vector512<float> m2, Vector512<float> m3, Vector512<float> m4,
        Vector512<float> m5, out Vector512<float> o0, out Vector512<float> o1, out Vector512<float> o2, out Vector512<float> o3)
    {
        Vector512<float> sum12 = m1 + m2, diff12 = m1 - m2, sum34 = m3 + m4, diff34 = m3 - m4;
        o0 = m0 + sum12 + sum34;
        o1 = Vector512.FusedMultiplyAdd(Vector512.Create(2f), diff34, diff12);
        o2 = Vector512.FusedMultiplyAdd(Vector512.Create(4f), sum34, sum12);
        o3 = Vector512.FusedMultiplyAdd(Vector512.Create(8f), diff34, diff12 + m5);
    }

    // One output row from its tiles' four columns (lanes = tiles): tiles 0 … 3 into the first 16 floats, 4 … 7 into the next,
    // and so on to the row's end.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* y, Vector512<float> c0, Vector512<float> c1, Vector512<float> c2, Vector512<float> c3,
        Vector512<int> index, Vector512<float> upper, int w, Vector512<float> maskLo, Vector512<float> maskHi, Vector512<float> bias,
        bool addBias, bool relu, bool accumulate)
    {
        var lo = Vector512.ConditionalSelect(upper, Avx512F.PermuteVar16x32x2(c2, index, c3), Avx512F.PermuteVar16x32x2(c0, index, c1));
        Winograd3x3.Finish(y, lo, maskLo, bias, addBias, relu, accumulate);
        if (w <= 16) return;
        var next = index + Vector512.Create(4);
        var hi = Vector512.ConditionalSelect(upper, Avx512F.PermuteVar16x32x2(c2, next, c3), Avx512F.PermuteVar16x32x2(c0, next, c1));
        Winograd3x3.Finish(y + 16, hi, w <= 32 ? maskHi : Vector512<float>.AllBitsSet, bias, addBias, relu, accumulate);
        for (int from = 32; from < w; from += 16)
        {
            next += Vector512.Create(4);
            var piece = Vector512.ConditionalSelect(upper, Avx512F.PermuteVar16x32x2(c2, next, c3), Avx512F.PermuteVar16x32x2(c0, next, c1));
            Winograd3x3.Finish(y + from, piece, LaneMask.First(w - from).AsSingle(), bias, addBias, relu, accumulate);
        }
    }

    /// <summary>
    /// dM_ξ = (A·dY·Aᵀ)_ξ of every tile of one output-gradient plane dy [H, W], the adjoint of <see cref="TransformOutput"/>
    /// (A = [1 0 0 0; 1 1 1 1; 1 −1 1 −1; 1 2 4 8; 1 −2 4 −8; 0 0 0 1]): tile t's value for ξ goes to dm[ξ·xiStride + t].
    /// Outputs outside the plane count as zero. Writes as <see cref="WinogradPatches.TransformInput"/>'s, and like it A· goes
    /// first, on whole rows (each tile row's four output rows spread into six), before the gathers it shares: a tile's 4x4
    /// outputs are its 6x6 input patch without the first and last rows and columns.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void TransformOutputGradient(float* dy, int h, int w, float* dm, long xiStride)
    {
        if ((uint)(w - 1) >= MaxWidth) throw new ArgumentOutOfRangeException(nameof(w), w, $"planes 1 to {MaxWidth} wide");
        var columns = WinogradPatches.ColumnsOf(w, 4);
        int th = (h + 3) / 4, tw = (w + 3) / 4, k = columns.RowsPerVector;
        int perRow = columns.VectorsPerRow;
        float* buffer = stackalloc float[6 * 64 + 16];
        float* u = CacheLines.LineStart(buffer);   // [row i of A·dY][slot: tile row j · perRow + vector q][16 lanes]
        for (int ty0 = 0; ty0 < th; ty0 += k)
        {
            int rows = Math.Min(k, th - ty0);
            for (int j = 0; j < rows; j++)
                for (int q = 0; q < perRow; q++)
                    SpreadRows(dy, 4 * (ty0 + j), h, w, 16 * q, u + 16 * (j * perRow + q));
            WinogradPatches.ClearSlots(u, rows * perRow);
            SpreadAcrossAndStore(u, columns, dm + ty0 * tw, xiStride);
        }
    }

    // Rows i = 0 … 5 of A·dY for output rows r … r + 3 of dy, floats from … from + 15 of each (zero outside the plane), to u + 64i.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SpreadRows(float* dy, int r, int h, int w, int from, float* u)
    {
        Vector512<float> d0, d1, d2, d3;
        if ((long)(h - r - 3) * w - from >= 16)
        {
            var mask = LaneMask.First(w - from).AsSingle();
            float* at = dy + (long)r * w + from;
            (d0, d1, d2, d3) = (Vector512.Load(at) & mask, Vector512.Load(at + w) & mask, Vector512.Load(at + 2 * w) & mask,
                Vector512.Load(at + 3 * w) & mask);
        }
        else
        {
            WinogradPatches.Row(dy, r, h, w, from, out d0);
            WinogradPatches.Row(dy, r + 1, h, w, from, out d1);
            WinogradPatches.Row(dy, r + 2, h, w, from, out d2);
            WinogradPatches.Row(dy, r + 3, h, w, from, out d3);
        }
        Spread(d0, d1, d2, d3, out var e0, out var e1, out var e2, out var e3, out var e4, out var e5);
        WinogradPatches.StoreSix(u, 64, e0, e1, e2, e3, e4, e5);
    }

    // For each row i of A·dY in u: the tiles' patch columns 1 … 4 (their outputs) gathered into their lanes, spread across
    // (·Aᵀ) and stored at dst + (6i + j)·xiStride.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SpreadAcrossAndStore(float* u, WinogradPatches.Columns columns, float* dst, long xiStride)
    {
        Vector512<int> i1 = columns.Index[1], i2 = columns.Index[2], i3 = columns.Index[3], i4 = columns.Index[4];
        Vector512<float> s1 = columns.Second[1], s2 = columns.Second[2], s3 = columns.Second[3], s4 = columns.Second[4];
        var inside = columns.Exact ? columns.Inside : null;
        for (int i = 0; i < 6; i++)
        {
            float* row = u + 64 * i;
            Vector512<float> p0 = Vector512.Load(row), p1 = Vector512.Load(row + 16), p2 = Vector512.Load(row + 32);
            var p3 = Vector512.Load(row + 48);
            var d1 = WinogradPatches.Gather(p0, p1, p2, p3, i1, s1);
            var d2 = WinogradPatches.Gather(p0, p1, p2, p3, i2, s2);
            var d3 = WinogradPatches.Gather(p0, p1, p2, p3, i3, s3);
            var d4 = WinogradPatches.Gather(p0, p1, p2, p3, i4, s4);
            if (inside != null) (d1, d2, d3, d4) = (d1 & inside[1], d2 & inside[2], d3 & inside[3], d4 & inside[4]);
            Spread(d1, d2, d3, d4, out var e0, out var e1, out var e2, out var e3, out var e4, out var e5);
            WinogradPatches.StoreSix(dst + 6 * i * xiStride, xiStride, e0, e1, e2, e3, e4, e5);
        }
    }

    // A·(y0 … y3): (y0, (y0 + y2) + (y1 + y3), (y0 + y2) − (y1 + y3), (y0 + 4y2) + (2y1 + 8y3), (y0 + 4y2) − (2y1 + 8y3), y3).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Spread(Vector512<float> y0, Vector512<float> y1, Vector512<float> y2, Vector512<float> y3,
        out Vector512<float> o0, out Vector512<float> o1, out Vector512<float> o2, out Vector512<float> o3, out Vector512<float> o4,
        out Vector512<float> o5)
    {
        Vector512<float> even = y0 + y2, odd = y1 + y3;
        var evenWide = Vector512.FusedMultiplyAdd(Vector512.Create(4f), y2, y0);
        var oddWide = Vector512.FusedMultiplyAdd(Vector512.Create(8f), y3, y1 + y1);
        (o0, o1, o2, o3, o4, o5) = (y0, even + odd, even - odd, evenWide + oddWide, evenWide - oddWide, y3);
    }

    /// <summary>
    /// dk [3, 3] += Gᵀ·dU·G for one (o, c), dU [6, 6] at ξ = 6i + j: the adjoint of <see cref="TransformKernel"/>, in double.
    /// </summary>
    internal static void KernelGradient(ReadOnlySpan<float> du, Span<float> dk)
    {
        Span<double> t = stackalloc double[18];   // Gᵀ·dU, [3, 6]
        for (int j = 0; j < 6; j++)
        {
            Gather(du[j], du[6 + j], du[12 + j], du[18 + j], du[24 + j], du[30 + j], out var a, out var b, out var c);
            (t[j], t[6 + j], t[12 + j]) = (a, b, c);
        }
        for (int i = 0; i < 3; i++)
        {
            Gather(t[6 * i], t[6 * i + 1], t[6 * i + 2], t[6 * i + 3], t[6 * i + 4], t[6 * i + 5], out var a, out var b, out var c);
            dk[3 * i] += (float)a;
            dk[3 * i + 1] += (float)b;
            dk[3 * i + 2] += (float)c;
        }

        // Gᵀ times (v0 … v5).
        static void Gather(double v0, double v1, double v2, double v3, double v4, double v5, out double a, out double b, out double c)
        {
            a = v0 * Quarter - (v1 + v2) * Sixth + (v3 + v4) * TwentyFourth;
            b = (v2 - v1) * Sixth + (v3 - v4) * Twelfth;
            c = (v3 + v4 - v1 - v2) * Sixth + v5;
        }
    }
}
