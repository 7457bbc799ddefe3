using CnnLab.Kernels;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>The blocked dot-product weight gradient against its one-dot-per-entry twin, every block shape and tail.</summary>
public class ConvWeightGradientTests
{
    [Theory]
    [InlineData(32, 9, 784)]   // cnn-small's first layer
    [InlineData(6, 25, 784)]   // lenet5's first layer
    [InlineData(3, 5, 37)]     // odd channel count, a partial tap block, a pixel tail
    [InlineData(1, 1, 5)]
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
}
