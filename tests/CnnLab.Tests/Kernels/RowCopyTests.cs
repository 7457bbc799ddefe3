using CnnLab.Kernels;
using Xunit;

namespace CnnLab.Tests.Kernels;

/// <summary>
/// <see cref="RowCopy.Copy"/> for every row length up to a few vectors: exactly the row's floats (NaN and −0 by their bits),
/// nothing before it or past it, whatever the row's alignment (its last vector's store overlaps the one before).
/// </summary>
public class RowCopyTests
{
    [Fact]
    public unsafe void Copies_exactly_the_row_for_every_length_and_alignment()
    {
        var src = new float[100];
        for (int i = 0; i < src.Length; i++) src[i] = i % 7 == 3 ? float.NaN : i % 11 == 5 ? -0f : i + 0.25f;
        for (int count = 0; count <= 70; count++)
            for (int offset = 0; offset < 3; offset++)
            {
                var dst = Enumerable.Repeat(-1234.5f, 90).ToArray();
                fixed (float* s = src, d = dst) RowCopy.Copy(s + offset, d + 5, count);
                for (int i = 0; i < dst.Length; i++)
                {
                    float expected = i >= 5 && i < 5 + count ? src[offset + i - 5] : -1234.5f;
                    Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(dst[i]),
                        $"length {count}, offset {offset}: float {i} is {dst[i]}, expected {expected}");
                }
            }
    }
}
