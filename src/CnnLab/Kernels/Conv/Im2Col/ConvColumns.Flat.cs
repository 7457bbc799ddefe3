using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend as in ConvColumns.cs; P = OH·OW.

/// <summary>
/// im2col for a convolution whose output rows are as wide as the image rows (OW = W) with stride 1 and
/// dilation 1 (every 3x3 "same" convolution of the zoo). Then output pixel p = oy·W + ox of tap (ki, kj)
/// reads image element p + (ki − PH)·W + (kj − PW) of the flat plane: each row of the column matrix is
/// the whole plane shifted by one constant, with the lanes whose (oy + ki − PH, ox + kj − PW) falls in
/// the padding loaded as zero. So the row is written 16 pixels at a time with one masked load and one
/// whole-vector store, across the image rows, instead of one masked load and store per image row
/// (14 floats for a 14x14 image, most stores straddling two cache lines). The masks depend on the pixels
/// and the tap only, so they are made once for all channels (writing the matrix row by row instead, masks
/// made ahead, was twice as slow). col2im is the same read backwards: image pixel q gets tap (ki, kj)'s
/// row at q minus that constant, so each 16-pixel vector of a plane is the sum of one masked load per tap.
/// </summary>
public static partial class ConvColumns
{
    // On top of the stride-1 fast path's conditions (see CanUseFastPath).
    private static bool CanUseFlatPath(int sh, int dh, int w, int ow) => sh == 1 && dh == 1 && ow == w;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Im2ColFlat(ReadOnlySpan<float> image, int c, int h, int w, int kh, int kw,
        int ph, int pw, int oh, Span<float> col, int stride)
    {
        int pixels = oh * w, plane = h * w;
        long channelStep = (long)kh * kw * stride;
        var zero = Vector512<float>.Zero;
        // Lane i holds pixel p0 + i at output row oy, column ox.
        var ox = Vector512<int>.Indices;
        var oy = Vector512<int>.Zero;
        Normalize(ref oy, ref ox, w);
        fixed (float* pImage = image, pCol = col)
        {
            for (int p0 = 0; p0 < stride; p0 += 16)
            {
                var live = Vector512.LessThan(Vector512<int>.Indices + Vector512.Create(p0), Vector512.Create(pixels));
                // The last vector of a row whose stride is not a multiple of 16 stops at the next row's start.
                var store = LaneMask.First(Math.Min(16, stride - p0)).AsSingle();
                bool whole = p0 + 16 <= stride;
                for (int ki = 0; ki < kh; ki++)
                    for (int kj = 0; kj < kw; kj++)
                    {
                        // The image pixel (oy + ki − PH, ox + kj − PW) each output pixel reads.
                        var mask = Inside(live, oy, ox, ki - ph, kj - pw, h, w);
                        // Lanes outside the mask are neither read nor faulted on, so src may point before the plane.
                        float* src = pImage + p0 + (long)(ki - ph) * w + (kj - pw);
                        float* dst = pCol + (long)(ki * kw + kj) * stride + p0;
                        if (whole)
                            for (int ci = 0; ci < c; ci++, src += plane, dst += channelStep)
                                Avx512F.Store(dst, Avx512F.MaskLoad(src, mask, zero));
                        else
                            for (int ci = 0; ci < c; ci++, src += plane, dst += channelStep)
                                Avx512F.MaskStore(dst, store, Avx512F.MaskLoad(src, mask, zero));
                    }
                ox += Vector512.Create(16);
                Normalize(ref oy, ref ox, w);
            }
        }
    }

    // col2im of the flat layout: image[ci, q] += Σ_taps col[(ci, tap), q − shift(tap)] over the taps whose
    // output pixel exists, 16 image pixels at a time, four channels at once (four independent chains of
    // additions). Taps are summed in (ki, kj) order, then added to the image, as in the other paths.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Col2ImFlat(ReadOnlySpan<float> col, int c, int h, int w, int kh, int kw,
        int ph, int pw, int oh, Span<float> image, int stride, bool accumulate)
    {
        int plane = h * w, taps = kh * kw;
        long channelStep = (long)taps * stride;
        var zero = Vector512<float>.Zero;
        Vector512<float>* masks = stackalloc Vector512<float>[taps];
        long* shifts = stackalloc long[taps];
        for (int t = 0; t < taps; t++) shifts[t] = (long)t * stride - ((long)(t / kw - ph) * w + (t % kw - pw));
        // Lane i holds image pixel q0 + i at row y, column x.
        var x = Vector512<int>.Indices;
        var y = Vector512<int>.Zero;
        Normalize(ref y, ref x, w);
        fixed (float* pCol = col, pImage = image)
        {
            for (int q0 = 0; q0 < plane; q0 += 16)
            {
                var inPlane = Vector512.LessThan(Vector512<int>.Indices + Vector512.Create(q0), Vector512.Create(plane));
                // The output pixel (y − (ki − PH), x − (kj − PW)) that read each image pixel under tap (ki, kj).
                for (int ki = 0; ki < kh; ki++)
                    for (int kj = 0; kj < kw; kj++)
                        masks[ki * kw + kj] = Inside(inPlane, y, x, ph - ki, pw - kj, oh, w);
                var store = inPlane.AsSingle();
                // Lanes outside a mask are neither read nor faulted on, so a tap's row may start before the matrix.
                float* src = pCol + q0;
                float* dst = pImage + q0;
                int ci = 0;
                for (; ci + 4 <= c; ci += 4, src += 4 * channelStep, dst += 4 * plane)
                {
                    Vector512<float> a0 = zero, a1 = zero, a2 = zero, a3 = zero;
                    for (int t = 0; t < taps; t++)
                    {
                        float* row = src + shifts[t];
                        var m = masks[t];
                        a0 += Avx512F.MaskLoad(row, m, zero);
                        a1 += Avx512F.MaskLoad(row + channelStep, m, zero);
                        a2 += Avx512F.MaskLoad(row + 2 * channelStep, m, zero);
                        a3 += Avx512F.MaskLoad(row + 3 * channelStep, m, zero);
                    }
                    // Every pixel is stored: without accumulate it gets 0 + sum (as on a zeroed image: −0 becomes +0).
                    if (accumulate)
                    {
                        Avx512F.MaskStore(dst, store, Avx512F.MaskLoad(dst, store, zero) + a0);
                        Avx512F.MaskStore(dst + plane, store, Avx512F.MaskLoad(dst + plane, store, zero) + a1);
                        Avx512F.MaskStore(dst + 2 * plane, store, Avx512F.MaskLoad(dst + 2 * plane, store, zero) + a2);
                        Avx512F.MaskStore(dst + 3 * plane, store, Avx512F.MaskLoad(dst + 3 * plane, store, zero) + a3);
                    }
                    else
                    {
                        Avx512F.MaskStore(dst, store, zero + a0);
                        Avx512F.MaskStore(dst + plane, store, zero + a1);
                        Avx512F.MaskStore(dst + 2 * plane, store, zero + a2);
                        Avx512F.MaskStore(dst + 3 * plane, store, zero + a3);
                    }
                }
                for (; ci < c; ci++, src += channelStep, dst += plane)
                {
                    var a = zero;
                    for (int t = 0; t < taps; t++) a += Avx512F.MaskLoad(src + shifts[t], masks[t], zero);
                    Avx512F.MaskStore(dst, store, (accumulate ? Avx512F.MaskLoad(dst, store, zero) : zero) + a);
                }
                x += Vector512.Create(16);
                Normalize(ref y, ref x, w);
            }
        }
    }

    // The lanes of live whose pixel (r + dr, s + ds) lies in [0, rows) x [0, cols).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Inside(Vector512<int> live, Vector512<int> r, Vector512<int> s, int dr, int ds, int rows, int cols) =>
        (live & Within(r + Vector512.Create(dr), rows) & Within(s + Vector512.Create(ds), cols)).AsSingle();

    // Carries whole rows from ox into oy until every lane has 0 ≤ ox < w.
    private static void Normalize(ref Vector512<int> oy, ref Vector512<int> ox, int w)
    {
        var width = Vector512.Create(w);
        while (true)
        {
            var over = Vector512.GreaterThanOrEqual(ox, width);
            if (over == Vector512<int>.Zero) return;
            ox -= width & over;
            oy -= over; // over is −1 in the lanes that carried
        }
    }
}
