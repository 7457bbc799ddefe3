using CnnLab.Kernels;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>The blocked dot-product weight gradient against its one-dot-per-entry twin, every block shape (2x4, 4x3, 2x9) and tail.</summary>
public class ConvWeightGradientTests
{
    [Theory]
    [InlineData(32, 9, 784)]   // cnn-small's first layer
    [InlineData(6, 25, 784)]   // lenet5's first layer
    [InlineData(3, 5, 37)]     // odd channel count, a partial tap block, a pixel tail
    [InlineData(1, 1, 5)]
    [InlineData(6, 9, 37)]     // three pairs in 2x9 blocks, a pixel tail
    [InlineData(7, 9, 50)]     // 2x9, then a single channel in blocks of 4 taps
    [InlineData(5, 6, 37)]     // 4x3, then a single channel
    [InlineData(7, 3, 50)]     // 4x3, then a pair and a single channel
    public void BlockedMatchesOneDotPerEntry(int oc, int rows, int p)
    {
        var g = new Generator(oc * 100 + rows);
        var dy = new float[oc * p]; g.FillNormal(dy, 0, 1);
        var col = new float[rows * p]; g.FillNormal(col, 0, 1);
        var start = new float[oc * rows]; g.FillNormal(start, 0, 1);
        var expected = (float[])start.Clone();
        var actual = (float[])start.Clone();
        ConvWeightGradient.AddDotsReference(dy, col, oc, rows, p, expected);
        ConvWeightGradient.AddDots(dy, col, oc, rows, p, actual);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4 * Math.Sqrt(p), $"dw[{i}] {actual[i]} vs {expected[i]}");
    }

    [Theory]
    [InlineData(9, 784)]
    [InlineData(9, 37)]
    [InlineData(6, 37)]
    public void EveryBlockShapeSumsEachEntryTheSameWay(int rows, int p)
    {
        // Two channels take a 2x9 or 2x4 block, each alone the single-channel blocks: the same bits either way.
        var g = new Generator(rows * 1000 + p);
        var dy = new float[4 * p]; g.FillNormal(dy, 0, 1);
        var col = new float[rows * p]; g.FillNormal(col, 0, 1);
        var together = new float[4 * rows];
        ConvWeightGradient.AddDots(dy, col, 4, rows, p, together);
        for (int o = 0; o < 4; o++)
        {
            var alone = new float[rows];
            ConvWeightGradient.AddDots(dy.AsSpan(o * p, p), col, 1, rows, p, alone);
            Assert.Equal(alone, together.AsSpan(o * rows, rows).ToArray());
        }
    }

    [Theory]
    [InlineData(32, 9, 1024, 1040)]   // a 32x32 plane's column matrix, rows padded off 4 KB
    [InlineData(6, 25, 37, 48)]
    [InlineData(7, 3, 50, 64)]
    public void ColumnRowsFurtherApartGiveTheSameSums(int oc, int rows, int p, int stride)
    {
        var g = new Generator(oc * 100 + rows + stride);
        var dy = new float[oc * p]; g.FillNormal(dy, 0, 1);
        var packed = new float[rows * p]; g.FillNormal(packed, 0, 1);
        // The same rows, stride apart, the gaps full of NaN (never read).
        var spaced = new float[(rows - 1) * stride + p];
        Array.Fill(spaced, float.NaN);
        for (int i = 0; i < rows; i++) packed.AsSpan(i * p, p).CopyTo(spaced.AsSpan(i * stride, p));
        var (expected, actual, reference) = (new float[oc * rows], new float[oc * rows], new float[oc * rows]);
        ConvWeightGradient.AddDots(dy, packed, oc, rows, p, expected);
        ConvWeightGradient.AddDots(dy, spaced, oc, rows, p, actual, stride);
        ConvWeightGradient.AddDotsReference(dy, spaced, oc, rows, p, reference, stride);
        Assert.Equal(expected, actual);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - reference[i]) <= 1e-4 * Math.Sqrt(p), $"dw[{i}] {reference[i]} vs {expected[i]}");
        Assert.Throws<ArgumentException>(() => ConvWeightGradient.AddDots(dy, spaced, oc, rows, p, actual, p - 1));
    }
}
