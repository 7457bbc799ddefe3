using CnnLab.Kernels;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// The vectorized stride-1 im2col/col2im (<c>ConvColumns.Stride1.cs</c>) against the general loop it
/// replaces: im2col bit for bit (it only moves numbers), col2im bit for bit from a zero image (it sums
/// the same taps in the same order), and neither writes outside the matrix or the image. The flat
/// im2col/col2im (<c>ConvColumns.Flat.cs</c>, output rows as wide as the image's) get cases of their own.
/// </summary>
public class ConvColumnsFastPathTests
{
    private sealed record Case(int C, int H, int W, int KH, int KW, int SH, int PH, int PW, int DH, int OH, int OW, int Stride);

    // sameWidth: only cases the flat im2col takes (OW = W: KW = 2·PW + 1, stride and dilation 1).
    private static IEnumerable<Case> Cases(int count, bool sameWidth = false)
    {
        var r = new Generator(sameWidth ? 18 : 17);
        int made = 0;
        while (made < count)
        {
            int c = 1 + r.NextInt(sameWidth ? 6 : 3), h = 1 + r.NextInt(20), w = 1 + r.NextInt(40);
            int kh = 1 + r.NextInt(5), kw = 1 + r.NextInt(5), sh = 1 + r.NextInt(3), dh = 1 + r.NextInt(2);
            int ph = r.NextInt(3), pw = r.NextInt(3);
            if (sameWidth) (kw, sh, dh) = (2 * pw + 1, 1, 1);
            if (h + 2 * ph < dh * (kh - 1) + 1 || w + 2 * pw < kw) continue;
            int oh = (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1, ow = w + 2 * pw - kw + 1;
            int stride = oh * ow + r.NextInt(3) switch { 0 => 0, 1 => r.NextInt(20), _ => (16 - oh * ow % 16) % 16 };
            made++;
            yield return new Case(c, h, w, kh, kw, sh, ph, pw, dh, oh, ow, stride);
        }
    }


    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Im2ColMatchesTheGeneralLoopAndStaysInsideTheMatrix(bool sameWidth)
    {
        var r = new Generator(3);
        foreach (var k in Cases(300, sameWidth))
        {
            if (sameWidth) Assert.Equal(k.W, k.OW);
            var image = new float[k.C * k.H * k.W];
            r.FillNormal(image, 0, 1);
            int rows = k.C * k.KH * k.KW, slack = 40;
            float[] Run(bool general = false)
            {
                // The span is longer than the matrix, filled with a sentinel that must survive.
                var col = Enumerable.Repeat(7.5f, rows * k.Stride + slack).ToArray();
                if (general) ConvColumns.Im2ColGeneral(image, k.C, k.H, k.W, k.KH, k.KW, k.SH, 1, k.PH, k.PW, k.DH, 1, k.OH, k.OW, col, k.Stride);
                else ConvColumns.Im2Col(image, k.C, k.H, k.W, k.KH, k.KW, k.SH, 1, k.PH, k.PW, k.DH, 1, k.OH, k.OW, col, k.Stride);
                return col;
            }
            var expected = Run(general: true);
            var actual = Run();
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"im2col differs for {k}");
            Assert.All(actual[(rows * k.Stride)..], v => Assert.Equal(7.5f, v));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Col2ImMatchesTheGeneralLoop(bool sameWidth)
    {
        var r = new Generator(4);
        foreach (var k in Cases(300, sameWidth))
        {
            int rows = k.C * k.KH * k.KW;
            // Exactly the matrix's length: the last row's last vector must not read past it.
            var col = new float[(rows - 1) * k.Stride + k.OH * k.OW];
            r.FillNormal(col, 0, 1);
            float[] Run(bool general = false)
            {
                var image = new float[k.C * k.H * k.W];
                if (general) ConvColumns.Col2ImGeneral(col, k.C, k.H, k.W, k.KH, k.KW, k.SH, 1, k.PH, k.PW, k.DH, 1, k.OH, k.OW, image, k.Stride);
                else ConvColumns.Col2Im(col, k.C, k.H, k.W, k.KH, k.KW, k.SH, 1, k.PH, k.PW, k.DH, 1, k.OH, k.OW, image, k.Stride);
                return image;
            }
            var expected = Run(general: true);
            var actual = Run();
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"col2im differs for {k}");
        }
    }

    [Fact]
    public void Col2ImAccumulatesIntoTheImage()
    {
        // dx += col2im(dcol): a second call on the same image doubles it.
        var col = new float[9 * 16];
        new Generator(5).FillNormal(col, 0, 1);
        var once = new float[16];
        ConvColumns.Col2Im(col, 1, 4, 4, 3, 3, 1, 1, 1, 1, 1, 1, 4, 4, once);
        var twice = new float[16];
        ConvColumns.Col2Im(col, 1, 4, 4, 3, 3, 1, 1, 1, 1, 1, 1, 4, 4, twice);
        ConvColumns.Col2Im(col, 1, 4, 4, 3, 3, 1, 1, 1, 1, 1, 1, 4, 4, twice);
        // Doubled exactly by the fast path; the general one adds each tap into the image, so within a rounding of the sum.
        for (int i = 0; i < 16; i++) Assert.True(Math.Abs(2 * once[i] - twice[i]) <= 1e-6f * Math.Abs(twice[i]) + 1e-6f, $"{i}");
    }
}
