using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend as in ConvColumns.cs. Hp = H + 2·PH and Wp (≥ W + 2·PW, plus slack) are the height and row
// length of a zero-padded copy of one channel plane.

/// <summary>
/// The fast path of im2col/col2im for horizontal stride 1 and horizontal dilation 1 (every 3x3 "same"
/// convolution of the zoo). The general loop copies one row segment per (tap, output row) with its
/// zero fill on both sides (for a 14x14 output that is ~4,000 calls of ~14 floats per image, and
/// their overhead, not memory, was a third of the convolution's time). Here each channel is first
/// copied into a zero-padded plane, so every segment is in bounds and is moved with whole 16-float
/// vectors: no clipping, no fill. col2im builds each image row in registers from masked, shifted
/// loads of the rows that read it (see Col2ImStride1).
/// </summary>
public static partial class ConvColumns
{
    // Tests turn the fast path off to compare it with the general loop.
    internal static bool UseFastPath = true;

    [ThreadStatic] private static float[]? t_plane;

    private static bool CanUseFastPath(int sw, int dw) => UseFastPath && sw == 1 && dw == 1 && Vector512.IsHardwareAccelerated && Avx512F.IsSupported;

    // Checks the geometry in 64 bits, then returns this thread's zero-padded plane and its height and row
    // length. The plane is indexed with raw pointers, so no caller's sizes may put a read or write outside
    // it (callers validate too, but this is the last line). The row is long enough for the widest read:
    // ox + kw with ox < OW rounded up to 16 lanes.
    private static float[] PaddedPlane(int h, int w, int kh, int kw, int sh, int ph, int pw, int dh, int oh, int ow, out int hp, out int wp)
    {
        long rows = h + 2L * ph, row = Math.Max(w + 2L * pw, (ow + 15L) / 16 * 16 + kw - 1);
        if (ph < 0 || pw < 0 || kh <= 0 || kw <= 0 || sh <= 0 || dh <= 0 || oh < 0 || ow < 0
            || rows * row + 16 > int.MaxValue / 2
            || (oh > 0 && (oh - 1L) * sh + (kh - 1L) * dh >= rows) || ow - 1L + kw - 1 >= row)
            throw new ArgumentException($"im2col geometry out of range: input {h}x{w}, kernel {kh}x{kw}, stride {sh}, padding ({ph}, {pw}), dilation {dh}, output {oh}x{ow}");
        hp = (int)rows;
        wp = (int)row;
        int length = hp * wp + 16;
        return t_plane is { } p && p.Length >= length ? p : t_plane = new float[length + 64];
    }

    private static unsafe void Im2ColStride1(ReadOnlySpan<float> image, int c, int h, int w, int kh, int kw,
        int sh, int ph, int pw, int dh, int oh, int ow, Span<float> col, int stride)
    {
        var plane = PaddedPlane(h, w, kh, kw, sh, ph, pw, dh, oh, ow, out int hp, out int wp);
        int full = ow / 16, rest = ow % 16;
        // Lanes of the last, partial vector of an output row: stored under a mask, so every store stays
        // inside its own row (no spill into the next row to clean up, no line-crossing overlap).
        var restMask = LaneMask.First(rest).AsSingle();
        fixed (float* pImage = image, pPlane = plane, pCol = col)
        {
            // Only the border of the padded plane needs zeros: the interior is overwritten per channel.
            new Span<float>(pPlane, hp * wp + 16).Clear();
            for (int ci = 0; ci < c; ci++)
            {
                float* src = pImage + (long)ci * h * w;
                for (int y = 0; y < h; y++)
                    new ReadOnlySpan<float>(src + y * w, w).CopyTo(new Span<float>(pPlane + (y + ph) * wp + pw, w));
                for (int ki = 0; ki < kh; ki++)
                    for (int kj = 0; kj < kw; kj++)
                    {
                        int r = (ci * kh + ki) * kw + kj;
                        float* dst = pCol + (long)r * stride;
                        // Padded row oy·SH + ki·DH, padded column ox + kj: in bounds by construction, and a
                        // whole vector read from it stays inside the plane (PaddedPlane).
                        float* s = pPlane + ki * dh * wp + kj;
                        for (int oy = 0; oy < oh; oy++, s += sh * wp, dst += ow)
                        {
                            int v = 0;
                            for (; v < full; v++) Vector512.Load(s + 16 * v).Store(dst + 16 * v);
                            if (rest != 0) Avx512F.MaskStore(dst + 16 * v, restMask, Vector512.Load(s + 16 * v));
                        }
                        // The stride's padding columns are zeroed, up to the end of the span for the last row.
                        long pad = Math.Min(stride - oh * ow, col.Length - ((long)r * stride + oh * ow));
                        if (pad > 0) new Span<float>(pCol + (long)r * stride + oh * ow, (int)pad).Clear();
                    }
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
    private static unsafe void Col2ImStride1(ReadOnlySpan<float> col, int c, int h, int w, int kh, int kw,
        int sh, int ph, int pw, int dh, int oh, int ow, Span<float> image, int stride)
    {
        if (ph < 0 || pw < 0 || kh <= 0 || kw <= 0 || sh <= 0 || dh <= 0 || oh < 0 || ow < 0)
            throw new ArgumentException($"col2im geometry out of range: input {h}x{w}, kernel {kh}x{kw}, stride {sh}, padding ({ph}, {pw}), dilation {dh}, output {oh}x{ow}");
        var zero = Vector512<float>.Zero;
        var lanes = Vector512<int>.Indices;
        Vector512<float>* masks = stackalloc Vector512<float>[kw];
        fixed (float* pImage = image, pCol = col)
        {
            for (int x0 = 0; x0 < w; x0 += 16)
            {
                // Lane i is image column x = x0 + i; tap kj reads it from output column ox = x + PW − kj.
                var inImage = Vector512.LessThan(lanes, Vector512.Create(w - x0));
                for (int kj = 0; kj < kw; kj++)
                {
                    var ox = lanes + Vector512.Create(x0 + pw - kj);
                    masks[kj] = (inImage & Vector512.GreaterThanOrEqual(ox, Vector512<int>.Zero) & Vector512.LessThan(ox, Vector512.Create(ow))).AsSingle();
                }
                var store = inImage.AsSingle();
                for (int ci = 0; ci < c; ci++)
                {
                    float* taps = pCol + (long)ci * kh * kw * stride + x0 + pw;
                    float* dst = pImage + (long)ci * h * w + x0;
                    // Two rows at a time: two independent chains of additions keep the adder busy.
                    for (int y = 0; y < h; y += 2, dst += 2 * w)
                    {
                        bool second = y + 1 < h;
                        Vector512<float> acc0 = zero, acc1 = zero;
                        for (int ki = 0; ki < kh; ki++)
                        {
                            float* rows = taps + (long)ki * kw * stride;
                            float* row0 = TapRow(rows, y, ki, ph, dh, sh, oh, ow), row1 = second ? TapRow(rows, y + 1, ki, ph, dh, sh, oh, ow) : null;
                            for (int kj = 0; kj < kw; kj++)
                            {
                                long shift = (long)kj * stride - kj;
                                if (row0 != null) acc0 += Avx512F.MaskLoad(row0 + shift, masks[kj], zero);
                                if (row1 != null) acc1 += Avx512F.MaskLoad(row1 + shift, masks[kj], zero);
                            }
                        }
                        Avx512F.MaskStore(dst, store, Avx512F.MaskLoad(dst, store, zero) + acc0);
                        if (second) Avx512F.MaskStore(dst + w, store, Avx512F.MaskLoad(dst + w, store, zero) + acc1);
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
