using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

/// <summary>
/// The tiles of F(2x2, 3x3) (stride 1, padding 1) or F(2x2, 5x5) (padding 2) on one plane size, 8 tiles a 256-bit vector: the
/// input transform, the output transform and the output gradient's (for dW), for <see cref="WinogradGemm"/> and
/// <see cref="WinogradGemmWeightGradient"/>. F(2x2, 5x5)'s are in WinogradGemmTiles.FiveByFive.cs.
/// </summary>
internal readonly unsafe partial struct WinogradGemmTiles
{
    internal const int Lanes = 8;

    private readonly int _h, _w, _tw, _pad, _splitStride, _splitRows;

    /// <summary>The tiles of a <paramref name="kernel"/> x <paramref name="kernel"/> convolution (3 or 5) on planes h x w.</summary>
    public WinogradGemmTiles(int h, int w, int kernel)
    {
        if (kernel is not (3 or 5)) throw new ArgumentOutOfRangeException(nameof(kernel), kernel, "3 or 5");
        (_h, _w, _tw, _pad) = (h, w, (w + 1) / 2, kernel / 2);
        // E and O of rows −pad … 2·TH + pad − 1: the tiles read up to 8 + pad past their first (E[j + pad], O[j + pad]).
        _splitStride = (_tw + 1 + Lanes + 7) / 8 * 8;
        _splitRows = (h + 1) / 2 * 2 + 2 * _pad;
    }

    /// <summary>Positions of a transformed tile: 16 (4x4) or 36 (6x6).</summary>
    public int Positions => _pad == 1 ? 16 : 36;

    /// <summary>Tiles per plane, ⌈H/2⌉·⌈W/2⌉.</summary>
    public int Count => Winograd3x3.Tiles(_h, _w);

    /// <summary>Floats of the split scratch the transforms take (zero it once: only a plane's rows and columns are written).</summary>
    public int SplitLength => 2 * _splitRows * _splitStride;

    /// <summary>
    /// V_ξ = (Bᵀ·d·B)_ξ of every tile of one plane x [H, W], Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]: tile t's value for
    /// position ξ goes to v[ξ·xiStride + t], 8 tiles a vector in increasing t; the last vector of a tile row writes up to 7
    /// values past it (the next row's or the next image's, written later, or the row's padding). The plane is first split into
    /// its padded even and odd columns (E[r, j] = x[r − 1, 2j − 1], O[r, j] = x[r − 1, 2j], zero outside), so that a tile's
    /// columns E[j], O[j], E[j + 1], O[j + 1] are contiguous loads for 8 neighbouring tiles.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void TransformInput(float* x, float* split, float* v, long xiStride)
    {
        if (_pad == 2)
        {
            TransformInput5x5(x, split, v, xiStride);
            return;
        }
        int s = _splitStride, th = (_h + 1) / 2;
        Split(x, split, out float* e, out float* o);
        for (int ty = 0; ty < th; ty++)
        {
            float* re = e + 2L * ty * s, ro = o + 2L * ty * s, dst = v + (long)ty * _tw;
            for (int tx = 0; tx < _tw; tx += Lanes)
            {
                // Bᵀ·d down the four rows, for E and O at tile offsets 0 and +1.
                Column(re + tx, s, out var e0, out var e1, out var e2, out var e3);
                Column(re + tx + 1, s, out var f0, out var f1, out var f2, out var f3);
                Column(ro + tx, s, out var o0, out var o1, out var o2, out var o3);
                Column(ro + tx + 1, s, out var p0, out var p1, out var p2, out var p3);
                // ·B across the columns (E[j], O[j], E[j + 1], O[j + 1]).
                Across(dst + tx, xiStride, 0, e0, o0, f0, p0);
                Across(dst + tx, xiStride, 1, e1, o1, f1, p1);
                Across(dst + tx, xiStride, 2, e2, o2, f2, p2);
                Across(dst + tx, xiStride, 3, e3, o3, f3, p3);
            }
        }
    }

    // The plane's rows into the split scratch, the padded plane's even columns in E and odd ones in O, row r at row r + pad:
    // with padding 1, x's even columns are O's and its odd ones E's from E[1]; with padding 2, x's even ones E's and its odd
    // ones O's, both from [1].
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Split(float* plane, float* split, out float* e, out float* o)
    {
        int s = _splitStride;
        e = split;
        o = split + (long)_splitRows * s;
        float* evens = _pad == 1 ? o : e + 1, odds = _pad == 1 ? e + 1 : o + 1;
        for (int r = 0; r < _h; r++) Deinterleave(plane + (long)r * _w, _w, evens + (long)(r + _pad) * s, odds + (long)(r + _pad) * s);
    }

    // Bᵀ·d for one column of 8 tiles: rows a0 … a3, s floats apart.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Column(float* at, int s, out Vector256<float> t0, out Vector256<float> t1, out Vector256<float> t2,
        out Vector256<float> t3)
    {
        var a0 = Vector256.Load(at);
        var a1 = Vector256.Load(at + s);
        var a2 = Vector256.Load(at + 2 * s);
        var a3 = Vector256.Load(at + 3 * s);
        (t0, t1, t2, t3) = (a0 - a2, a1 + a2, a2 - a1, a1 - a3);
    }

    // Row i of (Bᵀ·d)·B from its four columns, stored at positions 4i … 4i + 3.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Across(float* dst, long xiStride, int i, Vector256<float> c0, Vector256<float> c1, Vector256<float> c2,
        Vector256<float> c3)
    {
        float* row = dst + 4L * i * xiStride;
        (c0 - c2).Store(row);
        (c1 + c2).Store(row + xiStride);
        (c2 - c1).Store(row + 2 * xiStride);
        (c1 - c3).Store(row + 3 * xiStride);
    }

    // A row of w floats into its even columns (evens[j] = src[2j]) and odd ones (odds[j] = src[2j + 1]), 16 at a time; the last 16
    // are loaded under a mask, so the lanes past the row come out zero and are stored where the split is zero anyway.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Deinterleave(float* src, int w, float* evens, float* odds)
    {
        for (int c = 0; c < w; c += 16)
        {
            Vector256<float> a, b;
            if (c + 16 <= w) (a, b) = (Vector256.Load(src + c), Vector256.Load(src + c + 8));
            else (a, b) = (Avx.MaskLoad(src + c, LaneMask.First256(w - c)), Avx.MaskLoad(src + c + 8, LaneMask.First256(w - c - 8)));
            EvenOdd256.Split(a, b, out var even, out var odd);
            even.Store(evens + c / 2);
            odd.Store(odds + c / 2);
        }
    }

    /// <summary>
    /// One output plane y [H, W] from its tiles' products m (position ξ of tile t at m[ξ·xiStride + t]): Y = Aᵀ·m·A with
    /// Aᵀ = [1 1 1 0; 0 1 −1 −1], then act(Y + bias), or y + Y with <paramref name="accumulate"/>. 8 tiles a vector; a vector's
    /// lanes past the tile row are read (the row's next tiles or M's padding) and not stored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void TransformOutput(float* m, long xiStride, float* y, float bias, bool relu, bool accumulate)
    {
        if (_pad == 2)
        {
            TransformOutput5x5(m, xiStride, y, bias, relu, accumulate);
            return;
        }
        int th = (_h + 1) / 2;
        var b = Vector256.Create(bias);
        for (int ty = 0; ty < th; ty++)
            for (int tx = 0; tx < _tw; tx += Lanes)
            {
                float* at = m + (long)ty * _tw + tx;
                // Aᵀ down the rows i of m_ij (ξ = 4i + j), for each column j.
                Down(at, xiStride, 0, out var t00, out var t10);
                Down(at, xiStride, 1, out var t01, out var t11);
                Down(at, xiStride, 2, out var t02, out var t12);
                Down(at, xiStride, 3, out var t03, out var t13);
                int valid = Math.Min(2 * Lanes, _w - 2 * tx);
                float* row = y + 2L * ty * _w + 2 * tx;
                StoreRow(row, t00 + t01 + t02, t01 - t02 - t03, valid, b, relu, accumulate);
                if (2 * ty + 1 < _h) StoreRow(row + _w, t10 + t11 + t12, t11 - t12 - t13, valid, b, relu, accumulate);
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Down(float* at, long xiStride, int j, out Vector256<float> top, out Vector256<float> bottom)
    {
        var m0 = Vector256.Load(at + j * xiStride);
        var m1 = Vector256.Load(at + (4 + j) * xiStride);
        var m2 = Vector256.Load(at + (8 + j) * xiStride);
        var m3 = Vector256.Load(at + (12 + j) * xiStride);
        (top, bottom) = (m0 + m1 + m2, m1 - m2 - m3);
    }

    // 8 tiles' two outputs of one row (left, right), interleaved into 16 pixels, of which the first `valid` are stored.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* row, Vector256<float> left, Vector256<float> right, int valid, Vector256<float> bias, bool relu,
        bool accumulate)
    {
        var low = Avx.UnpackLow(left, right);     // l0 r0 l1 r1 | l4 r4 l5 r5
        var high = Avx.UnpackHigh(left, right);   // l2 r2 l3 r3 | l6 r6 l7 r7
        var first = Avx.Permute2x128(low, high, 0x20);
        var second = Avx.Permute2x128(low, high, 0x31);
        if (!accumulate)
        {
            first += bias;
            second += bias;
            if (relu) (first, second) = (Vector256.Max(first, Vector256<float>.Zero), Vector256.Max(second, Vector256<float>.Zero));
        }
        if (valid == 2 * Lanes)
        {
            if (accumulate) (first, second) = (Vector256.Load(row) + first, Vector256.Load(row + Lanes) + second);
            first.Store(row);
            second.Store(row + Lanes);
            return;
        }
        // The row's last pixels (a plane 14 wide ends every row here): stored under a mask, nothing past the row touched.
        Vector256<float> head = LaneMask.First256(valid), tail = LaneMask.First256(valid - Lanes);
        if (accumulate) (first, second) = (Avx.MaskLoad(row, head) + first, Avx.MaskLoad(row + Lanes, tail) + second);
        Avx.MaskStore(row, head, first);
        Avx.MaskStore(row + Lanes, tail, second);
    }

    /// <summary>
    /// The output gradient's tiles for dW: for each tile, A·dY·Aᵀ of its 2x2 gradients (zero outside the plane), A = Aᵀ's transpose of
    /// <see cref="TransformOutput"/> (the adjoint of the output transform), position ξ of tile t to d[ξ·xiStride + t], 8 tiles a
    /// vector as <see cref="TransformInput"/> writes them (and past a tile row as it does). dY's rows go through the split scratch
    /// like x's: O[r, j] = dy[r − 1, 2j], E[r, j + 1] = dy[r − 1, 2j + 1].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void TransformOutputGradient(float* dy, float* split, float* d, long xiStride)
    {
        if (_pad == 2)
        {
            TransformOutputGradient5x5(dy, split, d, xiStride);
            return;
        }
        int s = _splitStride, th = (_h + 1) / 2;
        Split(dy, split, out float* e, out float* o);
        for (int ty = 0; ty < th; ty++)
        {
            // The tile's rows 2ty and 2ty + 1 are the split's rows 2ty + 1 and 2ty + 2 (a row past the plane is zero there).
            float* re = e + (2L * ty + 1) * s, ro = o + (2L * ty + 1) * s, dst = d + (long)ty * _tw;
            for (int tx = 0; tx < _tw; tx += Lanes)
            {
                Vector256<float> top0 = Vector256.Load(ro + tx), top1 = Vector256.Load(re + tx + 1);
                Vector256<float> bottom0 = Vector256.Load(ro + s + tx), bottom1 = Vector256.Load(re + s + tx + 1);
                // A·Y down: rows (Y0, Y0 + Y1, Y0 − Y1, −Y1); then ·Aᵀ across each: (a, a + b, a − b, −b).
                Adjoint(dst + tx, xiStride, 0, top0, top1);
                Adjoint(dst + tx, xiStride, 1, top0 + bottom0, top1 + bottom1);
                Adjoint(dst + tx, xiStride, 2, top0 - bottom0, top1 - bottom1);
                Adjoint(dst + tx, xiStride, 3, -bottom0, -bottom1);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Adjoint(float* dst, long xiStride, int i, Vector256<float> a, Vector256<float> b)
    {
        float* row = dst + 4L * i * xiStride;
        a.Store(row);
        (a + b).Store(row + xiStride);
        (a - b).Store(row + 2 * xiStride);
        (-b).Store(row + 3 * xiStride);
    }
}
