using CnnLab.Data;
using Xunit;

namespace CnnLab.Tests;

public class ChannelNormalizeTests
{
    private static ImageDataset TwoChannelsOfThree(int n = 4)
    {
        // channel 0 all 0 or 255 (alternating images), channel 1 constant 51, channel 2 = pixel index.
        var pixels = new byte[n * 3 * 16];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < 16; j++)
            {
                pixels[(i * 3 + 0) * 16 + j] = (byte)(i % 2 == 0 ? 0 : 255);
                pixels[(i * 3 + 1) * 16 + j] = 51;
                pixels[(i * 3 + 2) * 16 + j] = (byte)(j * 17);
            }
        return new ImageDataset("t", "t", pixels, new int[n], 3, 4, 4, ["a", "b"]);
    }

    [Fact]
    public void StatisticsArePerChannelAndAConstantChannelKeepsStdOne()
    {
        var n = Normalize.FromData(TwoChannelsOfThree());
        Assert.Equal(0.5f, n.Means[0], 6);
        Assert.Equal(0.5f, n.Stds[0], 6);
        Assert.Equal(0.2f, n.Means[1], 6);
        Assert.Equal(1f, n.Stds[1]);
        Assert.Equal(0.5f, n.Means[2], 6);
        Assert.Equal((float)(Math.Sqrt(Enumerable.Range(0, 16).Select(j => Math.Pow(j / 15.0 - 0.5, 2)).Average())), n.Stds[2], 5);
    }

    [Fact]
    public void TheLoaderNormalizesEachChannelWithItsOwnStatistics()
    {
        var data = TwoChannelsOfThree(2);
        var norm = new Normalize([0.1f, 0.2f, 0.3f], [0.5f, 0.25f, 2f]);
        var x = new DataLoader(data, 2, normalize: norm).Epoch(0).Single().X;
        for (int c = 0; c < 3; c++)
            Assert.Equal((data.ImageBytes(1)[c * 16 + 5] / 255f - norm.Means[c]) / norm.Stds[c], x[1, c, 1, 1]);
        Assert.Throws<ArgumentException>(() => new DataLoader(data, 2, normalize: new Normalize([0f, 0f], [1f, 1f])));
    }

    [Fact]
    public void KnownSetsKeepTheirPublishedStatistics()
    {
        var fashion = FashionMnist.LoadEmbeddedSubset();
        Assert.Equal(Normalize.FashionMnist, fashion.Normalization);
        Assert.Equal(Normalize.FashionMnist, Normalize.FromKnownOrData(fashion.Test));
        Assert.NotEqual(Normalize.FashionMnist, Normalize.FromData(fashion.Train));
    }
}
