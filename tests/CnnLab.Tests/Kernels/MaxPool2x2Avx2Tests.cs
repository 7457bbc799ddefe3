using System.Runtime.Intrinsics.X86;
using CnnLab.Kernels;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// The 2x2 max pool's 256-bit rows (<see cref="MaxPool2dKernel.ForwardRow2x2Avx2"/>, the path without AVX-512) against the scalar
/// rule window by window: the first NaN wins, else the first strict maximum (−0 before +0, the first of equal taps), on rows of
/// 1 to 19 windows (whole and partial groups of 8), with ties, signed zeros and NaNs; nothing past a row is written.
/// </summary>
public class MaxPool2x2Avx2Tests
{
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(14)]
    [InlineData(19)]
    public unsafe void Each_window_takes_the_scalar_rules_value_and_place(int ow)
    {
        if (!Avx2.IsSupported) return;
        int w = 2 * ow + 1, rowStart = 3 * w;   // an odd width: the last column is in no window
        var rnd = new Random(ow);
        float[] pool = [0f, -0f, 1f, 1f, -2f, float.NaN, 3.5f, -0.5f];
        var x = new float[6 * w];
        for (int round = 0; round < 20; round++)
        {
            for (int i = 0; i < x.Length; i++) x[i] = round < 10 ? pool[rnd.Next(pool.Length - (round < 5 ? 3 : 0))] : rnd.NextSingle();
            var (y, idx) = (Enumerable.Repeat(-9f, ow + 8).ToArray(), Enumerable.Repeat(-9, ow + 8).ToArray());
            var yValues = Enumerable.Repeat(-9f, ow + 8).ToArray();
            fixed (float* px = x, py = y, pv = yValues)
            fixed (int* pi = idx)
            {
                MaxPool2dKernel.ForwardRow2x2Avx2(px + rowStart, py, pi, ow, w, rowStart);
                MaxPool2dKernel.ForwardRow2x2Avx2(px + rowStart, pv, null, ow, w, rowStart);
            }
            for (int k = 0; k < ow; k++)
            {
                int at0 = rowStart + 2 * k;
                float best = MaxPool2dKernel.Pick2x2Window(x[at0], x[at0 + 1], x[at0 + w], x[at0 + w + 1], w, w + 1, out int tap);
                Assert.Equal(BitConverter.SingleToInt32Bits(best), BitConverter.SingleToInt32Bits(y[k]));
                Assert.Equal(BitConverter.SingleToInt32Bits(best), BitConverter.SingleToInt32Bits(yValues[k]));
                Assert.Equal(at0 + tap, idx[k]);
            }
            for (int k = ow; k < ow + 8; k++) Assert.True(y[k] == -9f && idx[k] == -9 && yValues[k] == -9f, $"written past the row at {k}");
        }
    }
}
