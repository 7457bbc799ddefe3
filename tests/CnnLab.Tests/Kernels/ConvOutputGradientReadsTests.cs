using CnnLab.Kernels;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// What a convolution's output-gradient source says it reads for an image (<see cref="ConvOutputGradient.Reads"/>), which the
/// channel-blocked weight gradient asks for while the image before runs: the block of dy (and of y where the mask reads it) that
/// <see cref="ConvOutputGradient.ForImage"/> reads, for each image and group; and where those regions stand as the loop moves on.
/// </summary>
public unsafe class ConvOutputGradientReadsTests
{
    private static readonly Conv2dGeometry Geometry = new(3, 4, 5, 5, 6, 3, 3, PH: 1, PW: 1, G: 2);   // OCg 3, P 25

    [Fact]
    public void Plain_masked_and_activation_sources_name_the_blocks_for_image_and_group()
    {
        var dy = new float[Geometry.N * Geometry.OC * Geometry.ColCols];
        var y = new float[dy.Length];
        fixed (float* pdy = dy, py = y)
        {
            long block = (long)(2 * Geometry.OC + Geometry.OCg) * Geometry.ColCols;   // image 2, group 1
            new PlainGradient(Geometry, pdy).Reads(2, 1, out var first, out var second);
            Assert.True(first == pdy + block && second == null);
            new ReluMaskedGradient(Geometry, pdy, py).Reads(2, 1, out first, out second);
            Assert.True(first == pdy + block && second == py + block);
            new ReluMaskedGradient(Geometry, pdy, py).Reads(0, 0, out first, out second);
            Assert.True(first == pdy && second == py);
            new ActivationGradient<LeakyReluBackward>(Geometry, pdy, py, py, new LeakyReluBackward(0.1f)).Reads(2, 1, out first, out second);
            Assert.True(first == pdy + block && second == py + block);
        }
    }

    [Fact]
    public void Upcoming_regions_cover_a_groups_lengths_and_skip_null()
    {
        float* x = (float*)0x10000, dy = (float*)0x90000;
        var spread = new ChannelBlockedConv.Upcoming(x, dy, null).Spread(Geometry, iterations: 10);
        Assert.Equal(5, (long)spread.X.Step);       // Cg · H · W = 2 · 5 · 5 = 50 floats of x over 10 asks
        Assert.Equal(8, (long)spread.First.Step);   // OCg · P = 3 · 25 = 75 floats of output gradient
        Assert.True(spread.X.End == x + 50 && spread.First.End == dy + 75);
        var later = spread.After(4);
        Assert.True(later.X.At == x + 20 && later.First.At == dy + 32 && later.Second.At == null && later.X.End == x + 50);
        Assert.True(default(ChannelBlockedConv.Upcoming).After(7).X.At == null);
        Assert.True(new ChannelBlockedConv.Upcoming(x, dy, null).X.At == null);   // not spread: asks nothing
        Assert.True(spread.After(10).X.At == null && spread.After(9).First.At == dy + 72);   // past its end: none
    }
}
