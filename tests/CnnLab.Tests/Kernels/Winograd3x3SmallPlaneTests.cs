using System.Runtime.Intrinsics.X86;
using CnnLab.Kernels;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// Winograd's transforms of planes of at most 8 x 8, all of whose tiles fit one vector (Winograd3x3.SmallPlanes), against
/// the row-by-row transforms they replace: the same bits for every such size, on values with NaN, ±Inf and −0, and
/// nothing written outside the plane.
/// </summary>
public class Winograd3x3SmallPlaneTests
{
    // Values whose sums round (so a changed order of operations shows), with NaN, −∞ and −0 among them.
    private static float[] Values(Generator r, int n)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++)
            x[i] = r.NextInt(20) switch { 0 => float.NaN, 1 => float.NegativeInfinity, 2 => -0f, _ => (float)(8 * r.NextDouble() - 4) };
        return x;
    }

    private static int[] Bits(float[] a, int start, int length) => [.. a.AsSpan(start, length).ToArray().Select(BitConverter.SingleToInt32Bits)];

    [Fact]
    public unsafe void The_input_transform_of_a_small_plane_keeps_the_row_by_row_bits()
    {
        if (!Avx512F.IsSupported) return;
        for (int h = 1; h <= Winograd3x3.SmallSide; h++)
            for (int w = 1; w <= Winograd3x3.SmallSide; w++)
            {
                var x = Values(new Generator(h * 10 + w), h * w);   // at the end of its array: no load may pass it
                int tiles = (h + 1) / 2 * ((w + 1) / 2), xiStride = tiles + 16;
                var small = new float[16 * xiStride + 16];
                var rows = new float[small.Length];
                fixed (float* px = x, ps = small, pr = rows)
                {
                    Winograd3x3.TransformSmallInput(px, h, w, ps, xiStride);
                    Winograd3x3.TransformNarrowInput(px, h, w, pr, xiStride);
                }
                // Each position's tiles; past them both spill lanes that later writes take.
                for (int xi = 0; xi < 16; xi++)
                    Assert.True(Bits(rows, xi * xiStride, tiles).SequenceEqual(Bits(small, xi * xiStride, tiles)), $"{h}x{w}, position {xi}");
            }
    }

    [Theory]
    [InlineData(false, false, false)]
    [InlineData(true, true, false)]
    [InlineData(true, false, false)]
    [InlineData(false, false, true)]
    public unsafe void The_output_transform_of_a_small_plane_keeps_the_row_by_row_bits(bool bias, bool relu, bool accumulate)
    {
        if (!Avx512F.IsSupported) return;
        for (int h = 1; h <= Winograd3x3.SmallSide; h++)
            for (int w = 1; w <= Winograd3x3.SmallSide; w++)
            {
                var r = new Generator(h * 10 + w);
                int xiStride = 40;
                var m = Values(r, 16 * xiStride + 16);
                var start = Values(r, h * w + 32);
                var small = (float[])start.Clone();
                var rows = (float[])start.Clone();
                float b = 0.375f;
                fixed (float* pm = m, ps = small, pr = rows)
                {
                    Winograd3x3.TransformSmallOutput(pm, xiStride, h, w, bias ? &b : null, relu, accumulate, ps);
                    Winograd3x3.TransformOutput(pm, xiStride, h, w, bias ? &b : null, relu, accumulate, pr);
                }
                Assert.True(Bits(rows, 0, rows.Length).SequenceEqual(Bits(small, 0, small.Length)), $"{h}x{w}");
                Assert.Equal(Bits(start, h * w, 32), Bits(small, h * w, 32));   // nothing past the plane
            }
    }
}
