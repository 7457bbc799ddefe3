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
/// (14 floats for a 14x14 image, most stores straddling two cache lines): conv2 of cnn-small 6.6 →
/// 2.9 µs per image. The masks depend on the pixels and the tap only, so they are made once for all
/// channels.
/// </summary>
public static partial class ConvColumns
{
    private static bool CanUseFlatPath(int c, int kh, int kw, int sh, int dh, int w, int ow, int colLength, int stride) =>
        sh == 1 && dh == 1 && ow == w && (long)c * kh * kw * stride <= colLength;

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
                {
                    var y = oy + Vector512.Create(ki - ph);
                    var rowIn = live & Vector512.GreaterThanOrEqual(y, Vector512<int>.Zero) & Vector512.LessThan(y, Vector512.Create(h));
                    for (int kj = 0; kj < kw; kj++)
                    {
                        var x = ox + Vector512.Create(kj - pw);
                        var mask = (rowIn & Vector512.GreaterThanOrEqual(x, Vector512<int>.Zero) & Vector512.LessThan(x, Vector512.Create(w))).AsSingle();
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
                }
                ox += Vector512.Create(16);
                Normalize(ref oy, ref ox, w);
            }
        }
    }

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
