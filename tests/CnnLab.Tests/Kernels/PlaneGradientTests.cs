using CnnLab.Kernels;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests.Kernels;

/// <summary>The gradient sources that rebuild dL/d(an op's output) plane by plane, against the ones that read it stored.</summary>
public class PlaneGradientTests
{
    [Theory]
    [InlineData(2, 3, 49)]    // 7x7 planes: three vectors and a tail
    [InlineData(3, 2, 196)]
    [InlineData(1, 4, 5)]     // a tail only
    public unsafe void The_mask_rebuilt_from_z_has_the_bits_of_the_mask_read_from_y(int n, int c, int s)
    {
        var gen = new Generator(7);
        var z = new float[n * c * s];
        var dy = new float[n * c * s];
        gen.FillNormal(z, 0, 2);
        gen.FillNormal(dy, 0, 1);
        float[] scale = new[] { 2f, -0.5f, 1.0000001f, 0f }[..c], shift = new[] { -1f, 0.25f, -1f, 0f }[..c];
        // u exactly 0 (z·2 − 1 at z = ½), u whose multiply rounds to 0 where a fused multiply-add would not (z·1.0000001 − 1
        // at z = 0.99999994), NaN, ±∞ and ±0 in z, NaN and −0 in dy.
        z[0] = 0.5f;
        z[Math.Min(2 * s + 1, z.Length - 1)] = 0.99999994f;
        z[1] = float.NaN;
        z[2] = float.PositiveInfinity;
        z[3] = float.NegativeInfinity;
        z[s - 1] = -0f;
        dy[4 % s] = float.NaN;
        dy[s - 1] = -0f;
        var y = new float[z.Length];
        BatchNormKernel.ScaleShift(z, y, n, c, s, scale, shift, relu: true);
        var stored = new float[s];
        var rebuilt = new float[s];
        fixed (float* pz = z, py = y, pdy = dy)
        {
            var fromY = new ReluMaskedPlanes(pdy, py, s);
            var fromZ = new ScaleShiftReluMaskedPlanes(pdy, pz, scale, shift, c, s);
            for (long plane = 0; plane < n * c; plane++)
            {
                var a = fromY.Plane(plane, stored).ToArray();
                var b = fromZ.Plane(plane, rebuilt).ToArray();
                for (int i = 0; i < s; i++)
                    Assert.True(BitConverter.SingleToInt32Bits(a[i]) == BitConverter.SingleToInt32Bits(b[i]),
                        $"plane {plane} [{i}]: z {z[plane * s + i]}, y {y[plane * s + i]}: {b[i]}, not {a[i]}");
            }
        }
    }
}
