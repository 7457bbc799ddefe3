using CnnLab.Kernels;
using Xunit;

namespace CnnLab.Tests;

/// <summary>im2col's and col2im's stride-2 row moves (and the merge of two phases) against their scalar loops, at every length.</summary>
public class StrideTwoRowsTests
{
    [Fact]
    public void Gather_takes_every_other_float_at_every_length()
    {
        for (int n = 0; n <= 70; n++)
        {
            // src exactly as long as needed, inside a bigger array whose neighbours must stay untouched.
            var backing = Enumerable.Range(0, 2 * n + 40).Select(i => i + 0.5f).ToArray();
            var src = backing.AsSpan(20, Math.Max(0, 2 * n - 1));
            var dst = Enumerable.Repeat(-7f, n + 32).ToArray();
            StrideTwoRows.Gather(src, dst.AsSpan(16, n));
            for (int i = 0; i < n; i++) Assert.Equal(src[2 * i], dst[16 + i]);
            Assert.All(dst[..16].Concat(dst[(16 + n)..]), v => Assert.Equal(-7f, v));
        }
    }

    [Fact]
    public void ScatterAdd_adds_into_even_floats_only_and_keeps_negative_zeros()
    {
        for (int n = 0; n <= 70; n++)
        {
            var src = Enumerable.Range(0, n).Select(i => i % 5 == 0 ? 0f : i * 1.25f).ToArray();
            var dst = Enumerable.Range(0, 2 * n + 40).Select(i => i % 3 == 0 ? -0f : i * 0.5f).ToArray();
            var expected = (float[])dst.Clone();
            for (int i = 0; i < n; i++) expected[20 + 2 * i] += src[i];
            StrideTwoRows.ScatterAdd(src, dst.AsSpan(20, Math.Max(0, 2 * n - 1)));
            for (int i = 0; i < dst.Length; i++)
                Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(dst[i]),
                    $"n={n}: element {i} is {dst[i]}, expected {expected[i]}");
        }
    }

    [Fact]
    public void Too_short_spans_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => StrideTwoRows.Gather(new float[4], new float[3]));
        Assert.Throws<ArgumentException>(() => StrideTwoRows.ScatterAdd(new float[3], new float[4]));
    }

    [Fact]
    public unsafe void Interleave_writes_or_adds_the_two_phases_alternately_at_every_length()
    {
        for (int n = 0; n <= 70; n++)
            foreach (bool accumulate in new[] { false, true })
            {
                var even = Enumerable.Range(0, (n + 1) / 2 + 1).Select(i => i * 1.5f - 3f).ToArray();
                var odd = Enumerable.Range(0, n / 2 + 1).Select(i => i % 4 == 0 ? -0f : i * 0.25f).ToArray();
                var dst = Enumerable.Range(0, n + 32).Select(i => i * 0.75f).ToArray();
                var expected = (float[])dst.Clone();
                for (int x = 0; x < n; x++)
                {
                    float v = x % 2 == 0 ? even[x / 2] : odd[x / 2];
                    expected[16 + x] = accumulate ? expected[16 + x] + v : v;
                }
                fixed (float* e = even, o = odd, d = dst) StrideTwoRows.Interleave(e, o, d + 16, n, accumulate);
                Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), dst.Select(BitConverter.SingleToInt32Bits));
            }
    }

    [Fact]
    public unsafe void SplitRows_writes_the_two_phases_and_nothing_around_them_at_every_length()
    {
        const int rows = 3, srcStride = 80, dstStride = 60;
        for (int n = 0; n <= 70; n++)
        {
            // The rows sit inside a larger array whose floats around them must not be read into the phases.
            var src = Enumerable.Range(0, rows * srcStride + 64).Select(i => i % 7 == 0 ? float.NaN : i * 0.5f - 9f).ToArray();
            var (even, odd) = (Enumerable.Repeat(42f, rows * dstStride + 32).ToArray(), Enumerable.Repeat(-7f, rows * dstStride + 32).ToArray());
            var (wantEven, wantOdd) = ((float[])even.Clone(), (float[])odd.Clone());
            for (int r = 0; r < rows; r++)
                for (int x = 0; x < n; x++) (x % 2 == 0 ? wantEven : wantOdd)[16 + r * dstStride + x / 2] = src[32 + r * srcStride + x];
            fixed (float* s = src, e = even, o = odd) StrideTwoRows.SplitRows(s + 32, n, rows, srcStride, e + 16, o + 16, dstStride);
            Assert.Equal(wantEven.Select(BitConverter.SingleToInt32Bits), even.Select(BitConverter.SingleToInt32Bits));
            Assert.Equal(wantOdd.Select(BitConverter.SingleToInt32Bits), odd.Select(BitConverter.SingleToInt32Bits));
        }
    }

    [Fact]
    public unsafe void InterleaveRows_is_Interleave_row_by_row_and_writes_nothing_between_the_rows()
    {
        for (int n = 1; n <= 40; n++)
            foreach (bool accumulate in new[] { false, true })
            {
                const int rows = 3;
                int evenStride = (n + 1) / 2 + n % 3, oddStride = n / 2 + 1, dstStride = n + 5;
                // 8 readable floats past the last phase rows, as InterleaveRows asks; NaN there must never reach dst.
                var even = Enumerable.Range(0, rows * evenStride + 8).Select(i => i < rows * evenStride ? i * 0.5f - 7f : float.NaN).ToArray();
                var odd = Enumerable.Range(0, rows * oddStride + 8).Select(i => i < rows * oddStride ? (i % 5 == 0 ? -0f : i * 0.125f) : float.NaN)
                    .ToArray();
                var start = Enumerable.Range(0, rows * dstStride + 16).Select(i => i * 0.75f).ToArray();
                var expected = (float[])start.Clone();
                fixed (float* e = even, o = odd, d = expected)
                    for (int a = 0; a < rows; a++)
                        StrideTwoRows.Interleave(e + a * evenStride, o + a * oddStride, d + a * dstStride, n, accumulate);
                var actual = (float[])start.Clone();
                fixed (float* e = even, o = odd, d = actual)
                    StrideTwoRows.InterleaveRows(e, evenStride, o, oddStride, d, dstStride, rows, n, accumulate);
                Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), actual.Select(BitConverter.SingleToInt32Bits));
            }
    }
}
