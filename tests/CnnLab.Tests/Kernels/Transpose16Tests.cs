using CnnLab.Kernels;
using Xunit;

namespace CnnLab.Tests.Kernels;

public class Transpose16Tests
{
    [Theory]
    [InlineData(16, 16)]
    [InlineData(20, 17)]
    [InlineData(49, 196)]
    public unsafe void MovesEveryValueToItsTransposedPlace(int srcStride, int dstStride)
    {
        if (!Transpose16.IsSupported) return; // AVX-512 only; elsewhere the callers move values one by one
        var src = new float[16 * srcStride];
        for (int i = 0; i < src.Length; i++) src[i] = i * 1.5f - 7;
        src[3 * srcStride + 5] = float.NaN;
        src[7 * srcStride + 2] = BitConverter.Int32BitsToSingle(-123456);   // an int's bits, as the indices are moved
        var dst = new float[16 * dstStride];
        fixed (float* s = src, d = dst) Transpose16.Block(s, srcStride, d, dstStride);
        for (int r = 0; r < 16; r++)
            for (int c = 0; c < 16; c++)
                Assert.Equal(BitConverter.SingleToInt32Bits(src[r * srcStride + c]), BitConverter.SingleToInt32Bits(dst[c * dstStride + r]));
    }
}
