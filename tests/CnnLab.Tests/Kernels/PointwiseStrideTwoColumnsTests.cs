using CnnLab.Kernels;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// col2im of a 1x1 kernel at stride (SH, 2) without padding (a shortcut's dx, <c>StrideTwoRows.Col2ImPointwise</c>), through
/// <see cref="ConvColumns.Col2Im"/>, against the general loop bit for bit, overwriting and adding: every width 1-40 (odd
/// ones end on a half vector), SH 1-3, column rows padded or not, −0, NaN and infinities among the values.
/// </summary>
public class PointwiseStrideTwoColumnsTests
{
    [Fact]
    public void Col2im_matches_the_general_loop_bit_for_bit()
    {
        var r = new Generator(31);
        for (int w = 1; w <= 40; w++)
            for (int sh = 1; sh <= 3; sh++)
            {
                int c = 1 + w % 3, h = 1 + (w * 7 + sh) % 11, oh = (h - 1) / sh + 1, ow = (w + 1) / 2;
                int stride = oh * ow + (w % 2 == 0 ? 0 : (16 - oh * ow % 16) % 16);
                var col = new float[(c - 1) * stride + oh * ow];
                r.FillNormal(col, 0, 1);
                col[0] = -0f;
                col[^1] = float.NaN;
                if (col.Length > 2) col[col.Length / 2] = float.NegativeInfinity;
                var start = new float[c * h * w];
                r.FillNormal(start, 0, 1);
                start[^1] = -0f;
                foreach (bool accumulate in new[] { false, true })
                {
                    float[] Run(bool general)
                    {
                        // Overwriting starts from NaN: a pixel left unwritten shows.
                        var image = accumulate ? (float[])start.Clone() : Enumerable.Repeat(float.NaN, start.Length).ToArray();
                        if (general) ConvColumns.Col2ImGeneral(col, c, h, w, 1, 1, sh, 2, 0, 0, 1, 1, oh, ow, image, stride, accumulate);
                        else ConvColumns.Col2Im(col, c, h, w, 1, 1, sh, 2, 0, 0, 1, 1, oh, ow, image, stride, accumulate);
                        return image;
                    }
                    var expected = Run(general: true);
                    var actual = Run(general: false);
                    for (int i = 0; i < expected.Length; i++)
                        Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                            $"w {w}, sh {sh}, accumulate {accumulate}: pixel {i} is {actual[i]}, the general loop's {expected[i]}");
                }
            }
    }

    [Fact]
    public void Col2im_writes_nothing_past_the_image()
    {
        const int c = 2, h = 5, w = 13, oh = 5, ow = 7;
        var col = Enumerable.Range(0, c * oh * ow).Select(i => (float)i).ToArray();
        var image = Enumerable.Repeat(123f, c * h * w + 20).ToArray();
        ConvColumns.Col2Im(col, c, h, w, 1, 1, 1, 2, 0, 0, 1, 1, oh, ow, image.AsSpan(0, c * h * w), 0, accumulate: false);
        Assert.All(image[(c * h * w)..], v => Assert.Equal(123f, v));
        Assert.Equal(col[ow + 3], image[w + 6]);
        Assert.Equal(0f, image[w + 7]);
    }

    [Fact]
    public void A_shape_the_kernel_does_not_map_is_refused()
    {
        var col = new float[64];
        var image = new float[64];
        var e = Assert.Throws<ArgumentException>(() => StrideTwoRows.Col2ImPointwise(col, 1, 4, 8, 1, 4, 5, image, 20, false));
        Assert.Contains("4x4", e.Message);
    }
}
