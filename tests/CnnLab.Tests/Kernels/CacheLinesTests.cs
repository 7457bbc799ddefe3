using CnnLab.Kernels;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// <see cref="CacheLines.StepOver"/>: the step a kernel's loop moves its prefetch on by covers the region in the iterations it
/// has where a line an iteration can (so the whole next image is asked for before its turn), and is never under one float or
/// over a line (16 floats: no line skipped). <see cref="PrefetchStream"/>: moves on by its step and hands out null past its end.
/// </summary>
public class CacheLinesTests
{
    [Theory]
    [InlineData(32768, 9216, 4)]     // 32 channels of 32x32 over 32 blocks of 288 taps
    [InlineData(16384, 36 * 256, 2)] // 64 channels of 16x16 over 36 blocks of taps, 256 pixels each
    [InlineData(100, 7, 15)]         // rounded up: 7 · 15 ≥ 100
    [InlineData(5, 1000, 1)]         // more iterations than floats: one float at a time (the stream's end stops it)
    [InlineData(6400, 100, 16)]      // 64 floats an iteration would skip lines: a line each, the region's start covered
    [InlineData(64, 0, 16)]          // no iterations: as one
    public void Covers_the_region_a_line_an_iteration_at_most(long floats, long iterations, long expected)
    {
        nint step = CacheLines.StepOver(floats, iterations);
        Assert.Equal(expected, (long)step);
        Assert.InRange((long)step, 1, 16);
        if (step < 16) Assert.True(step * Math.Max(1, iterations) >= floats);
    }

    [Fact]
    public unsafe void A_stream_moves_on_by_its_step_and_hands_out_null_past_its_end()
    {
        float* region = stackalloc float[64];
        var stream = PrefetchStream.Over(region, 40, 4);   // a step of 10
        Assert.Equal(10, (long)stream.Step);
        Assert.True(stream.After(2).At == region + 20 && stream.After(3).At == region + 30);
        Assert.True(stream.After(4).At == null && stream.After(9).At == null);   // at or past its end: none
        Assert.True(default(PrefetchStream).After(5).At == null && PrefetchStream.Over(null, 40, 4).At == null);
        Assert.True(PrefetchStream.Ask(region, 10) == region + 10 || !System.Runtime.Intrinsics.X86.Sse.IsSupported);
        Assert.True(PrefetchStream.Ask(null, 10) == null);
    }
}
