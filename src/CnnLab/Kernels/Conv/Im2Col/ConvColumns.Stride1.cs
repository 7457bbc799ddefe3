using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend as in ConvColumns.cs.

/// <summary>
/// The fast path of im2col/col2im for horizontal stride 1 and horizontal dilation 1 (every 3x3 "same"
/// convolution of the zoo). The general loop copies one row segment per (tap, output row) with its
/// zero fill on both sides (for a 14x14 output that is ~4,000 calls of ~14 floats per image, and
/// their overhead, not memory, was a third of the convolution's time). Here every segment is one
/// AVX-512 masked load and store of up to 16 floats: the mask leaves out the lanes in the padding
/// (never read, loaded as zero), so there is no clipping and no fill. col2im builds each image row in
/// registers from such loads of the rows that read it.
/// </summary>
public static partial class ConvColumns
{
    private static bool CanUseFastPath(int sw, int dw) => sw == 1 && dw == 1 && Vector512.IsHardwareAccelerated && Avx512F.IsSupported;

    private static void CheckGeometry(int kh, int kw, int sh, int ph, int pw, int dh, int oh, int ow)
    {
        if (ph < 0 || pw < 0 || kh <= 0 || kw <= 0 || sh <= 0 || dh <= 0 || oh < 0 || ow < 0)
            throw new ArgumentException(
                $"im2col geometry out of range: kernel {kh}x{kw}, stride {sh}, padding ({ph}, {pw}), dilation {dh}, output {oh}x{ow}");
    }

    // For output columns x0 .. x0 + 15, the lanes of tap kj that exist: output column ox < OW whose input
    // column ox + kj − PW lies in the image.
    private static unsafe void TapMasks(int x0, int kw, int pw, int w, int ow, Vector512<float>* masks)
    {
        var ox = Vector512<int>.Indices + Vector512.Create(x0);
        var inRow = Vector512.LessThan(ox, Vector512.Create(ow));
        for (int kj = 0; kj < kw; kj++) masks[kj] = (inRow & Within(ox + Vector512.Create(kj - pw), w)).AsSingle();
    }

    // The lanes of v that lie in [0, count).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Within(Vector512<int> v, int count) =>
        Vector512.GreaterThanOrEqual(v, Vector512<int>.Zero) & Vector512.LessThan(v, Vector512.Create(count));

    // im2col straight from the image: each row segment of the column matrix is one masked load of the
    // image row it reads, shifted by kj − PW (lanes in the padding are not read and come out zero), and
    // one masked store. Copying each channel into a zero-padded plane first made every tap re-load rows
    // just stored at another alignment (store-forwarding stalls), and cost a copy of the image.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Im2ColStride1(ReadOnlySpan<float> image, int c, int h, int w, int kh, int kw,
        int sh, int ph, int pw, int dh, int oh, int ow, Span<float> col, int stride)
    {
        CheckGeometry(kh, kw, sh, ph, pw, dh, oh, ow);
        var zero = Vector512<float>.Zero;
        Vector512<float>* masks = stackalloc Vector512<float>[kw];
        fixed (float* pImage = image, pCol = col)
        {
            for (int x0 = 0; x0 < ow; x0 += 16)
            {
                TapMasks(x0, kw, pw, w, ow, masks);
                var store = LaneMask.First(Math.Min(16, ow - x0)).AsSingle();
                for (int ci = 0; ci < c; ci++)
                    for (int ki = 0; ki < kh; ki++)
                        for (int kj = 0; kj < kw; kj++)
                        {
                            int r = (ci * kh + ki) * kw + kj;
                            float* dst = pCol + (long)r * stride + x0;
                            float* src = pImage + (long)ci * h * w + x0 + kj - pw;
                            for (int oy = 0; oy < oh; oy++, dst += ow)
                            {
                                int y = oy * sh - ph + ki * dh;
                                var v = (uint)y < (uint)h ? Avx512F.MaskLoad(src + (long)y * w, masks[kj], zero) : zero;
                                Avx512F.MaskStore(dst, store, v);
                            }
                        }
            }
            // The stride's padding columns are zeroed, up to the end of the span for the last row.
            for (int r = 0; r < c * kh * kw; r++)
            {
                long pad = Math.Min(stride - oh * ow, col.Length - ((long)r * stride + oh * ow));
                if (pad > 0) new Span<float>(pCol + (long)r * stride + oh * ow, (int)pad).Clear();
            }
        }
    }

    // col2im without a padded plane: each image row is built in a register, 16 columns at a time, as
    // the sum over the taps (ki, kj) that read it of the matching column-matrix row segment, loaded
    // shifted by kj under a mask of the lanes that exist (masked-off lanes are never read, so segments
    // at the borders need no clipping); then added to the image once. Accumulating through memory
    // instead (plane[y][x + kj] += ...) made every tap's row re-load what the previous tap had just
    // stored one lane over, which stalls store-to-load forwarding. The sums run in the same order as
    // the general loop's (taps in (ki, kj) order, then onto the image), so the results are the same.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Col2ImStride1(ReadOnlySpan<float> col, int c, int h, int w, int kh, int kw,
        int sh, int ph, int pw, int dh, int oh, int ow, Span<float> image, int stride, bool accumulate)
    {
        CheckGeometry(kh, kw, sh, ph, pw, dh, oh, ow);
        var zero = Vector512<float>.Zero;
        var lanes = Vector512<int>.Indices;
        Vector512<float>* masks = stackalloc Vector512<float>[kw];
        fixed (float* pImage = image, pCol = col)
        {
            for (int x0 = 0; x0 < w; x0 += 16)
            {
                // Lane i is image column x = x0 + i; tap kj reads it from output column ox = x + PW − kj.
                var inImage = Vector512.LessThan(lanes, Vector512.Create(w - x0));
                for (int kj = 0; kj < kw; kj++) masks[kj] = (inImage & Within(lanes + Vector512.Create(x0 + pw - kj), ow)).AsSingle();
                var store = inImage.AsSingle();
                for (int ci = 0; ci < c; ci++)
                {
                    float* taps = pCol + (long)ci * kh * kw * stride + x0 + pw;
                    float* dst = pImage + (long)ci * h * w + x0;
                    // Four rows at a time: four independent chains of additions keep the adder busy, and the
                    // taps' loop runs once for all four (lenet5's conv2 dx: 14-row planes, 25 taps).
                    for (int y = 0; y < h; y += 4, dst += 4 * w)
                    {
                        Vector512<float> acc0 = zero, acc1 = zero, acc2 = zero, acc3 = zero;
                        for (int ki = 0; ki < kh; ki++)
                        {
                            float* rows = taps + (long)ki * kw * stride;
                            float* row0 = TapRow(rows, y, ki, ph, dh, sh, oh, ow);
                            float* row1 = y + 1 < h ? TapRow(rows, y + 1, ki, ph, dh, sh, oh, ow) : null;
                            float* row2 = y + 2 < h ? TapRow(rows, y + 2, ki, ph, dh, sh, oh, ow) : null;
                            float* row3 = y + 3 < h ? TapRow(rows, y + 3, ki, ph, dh, sh, oh, ow) : null;
                            for (int kj = 0; kj < kw; kj++)
                            {
                                long shift = (long)kj * stride - kj;
                                if (row0 != null) acc0 += Avx512F.MaskLoad(row0 + shift, masks[kj], zero);
                                if (row1 != null) acc1 += Avx512F.MaskLoad(row1 + shift, masks[kj], zero);
                                if (row2 != null) acc2 += Avx512F.MaskLoad(row2 + shift, masks[kj], zero);
                                if (row3 != null) acc3 += Avx512F.MaskLoad(row3 + shift, masks[kj], zero);
                            }
                        }
                        // Every image row is stored: without accumulate it gets 0 + sum (as on a zeroed image: −0 becomes +0).
                        Avx512F.MaskStore(dst, store, (accumulate ? Avx512F.MaskLoad(dst, store, zero) : zero) + acc0);
                        if (y + 1 < h) Avx512F.MaskStore(dst + w, store, (accumulate ? Avx512F.MaskLoad(dst + w, store, zero) : zero) + acc1);
                        if (y + 2 < h) Avx512F.MaskStore(dst + 2 * w, store, (accumulate ? Avx512F.MaskLoad(dst + 2 * w, store, zero) : zero) + acc2);
                        if (y + 3 < h) Avx512F.MaskStore(dst + 3 * w, store, (accumulate ? Avx512F.MaskLoad(dst + 3 * w, store, zero) : zero) + acc3);
                    }
                }
            }
        }
    }

    // The column-matrix row segment (output row oy of tap row ki) that image row y is read from, or null
    // if no output row reads it: oy·SH − PH + ki·DH = y (no division when SH = 1).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe float* TapRow(float* tapRows, int y, int ki, int ph, int dh, int sh, int oh, int ow)
    {
        int t = y + ph - ki * dh, oy = sh == 1 ? t : t % sh == 0 ? t / sh : -1;
        return t < 0 || oy < 0 || oy >= oh ? null : tapRows + (long)oy * ow;
    }
}
