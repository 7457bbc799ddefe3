using CnnLab.Kernels;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// im2col and col2im at a column stride above 1 through the planes' column phases (<c>Conv/PhasedColumns.cs</c>) against the
/// general loop: im2col bit for bit and inside the matrix, col2im bit for bit when it overwrites (or adds to a zero image),
/// and to rounding when it adds to an image.
/// </summary>
public class PhasedColumnsTests
{
    private sealed record Case(int C, int H, int W, int KH, int KW, int SH, int SW, int PH, int PW, int DH, int OH, int OW, int Stride);

    private static IEnumerable<Case> Cases(int count)
    {
        var r = new Generator(21);
        int made = 0;
        while (made < count)
        {
            int c = 1 + r.NextInt(4), h = 1 + r.NextInt(20), w = 1 + r.NextInt(40);
            int kh = 1 + r.NextInt(7), kw = 1 + r.NextInt(7), sh = 1 + r.NextInt(3), sw = 2 + r.NextInt(2), dh = 1 + r.NextInt(2);
            int ph = r.NextInt(4), pw = r.NextInt(4);
            if (h + 2 * ph < dh * (kh - 1) + 1 || w + 2 * pw < kw) continue;
            int oh = (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1, ow = (w + 2 * pw - kw) / sw + 1;
            int stride = oh * ow + r.NextInt(3) switch { 0 => 0, 1 => r.NextInt(20), _ => (16 - oh * ow % 16) % 16 };
            made++;
            yield return new Case(c, h, w, kh, kw, sh, sw, ph, pw, dh, oh, ow, stride);
        }
    }


    [Fact]
    public void Im2col_matches_the_general_loop_and_stays_inside_the_matrix()
    {
        var r = new Generator(22);
        foreach (var k in Cases(300))
        {
            Assert.True(PhasedColumns.Applies(k.SW, 1));
            var image = new float[k.C * k.H * k.W];
            r.FillNormal(image, 0, 1);
            int rows = k.C * k.KH * k.KW;
            float[] Run(bool general = false)
            {
                var col = Enumerable.Repeat(7.5f, rows * k.Stride + 40).ToArray();
                if (general) ConvColumns.Im2ColGeneral(image, k.C, k.H, k.W, k.KH, k.KW, k.SH, k.SW, k.PH, k.PW, k.DH, 1, k.OH, k.OW, col, k.Stride);
                else ConvColumns.Im2Col(image, k.C, k.H, k.W, k.KH, k.KW, k.SH, k.SW, k.PH, k.PW, k.DH, 1, k.OH, k.OW, col, k.Stride);
                return col;
            }
            var expected = Run(general: true);
            Assert.True(expected.AsSpan().SequenceEqual(Run()), $"im2col differs for {k}");
        }
    }

    [Fact]
    public void Col2im_matches_the_general_loop_overwriting_bit_for_bit_and_adding_to_rounding()
    {
        var r = new Generator(23);
        foreach (var k in Cases(300))
        {
            int rows = k.C * k.KH * k.KW;
            var col = new float[(rows - 1) * k.Stride + k.OH * k.OW];
            r.FillNormal(col, 0, 1);
            var start = new float[k.C * k.H * k.W];
            r.FillNormal(start, 0, 1);
            float[] Run(bool accumulate, bool general = false)
            {
                var image = accumulate ? (float[])start.Clone() : Enumerable.Repeat(float.NaN, start.Length).ToArray();
                if (general)
                    ConvColumns.Col2ImGeneral(col, k.C, k.H, k.W, k.KH, k.KW, k.SH, k.SW, k.PH, k.PW, k.DH, 1, k.OH, k.OW, image, k.Stride,
                        accumulate);
                else ConvColumns.Col2Im(col, k.C, k.H, k.W, k.KH, k.KW, k.SH, k.SW, k.PH, k.PW, k.DH, 1, k.OH, k.OW, image, k.Stride, accumulate);
                return image;
            }
            Assert.True(Run(false, general: true).AsSpan().SequenceEqual(Run(false)), $"overwriting col2im differs for {k}");
            var expected = Run(true, general: true);
            var actual = Run(true);
            for (int i = 0; i < expected.Length; i++)
                Assert.True(MathF.Abs(expected[i] - actual[i]) <= 1e-5f * (1 + MathF.Abs(expected[i])), $"col2im += differs at {i} for {k}");
        }
    }
}
