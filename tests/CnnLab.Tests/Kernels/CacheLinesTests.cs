using CnnLab.Kernels;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// <see cref="CacheLines.StepOver"/>: the step a kernel's loop moves its prefetch on by covers the region in the iterations it
/// has where a line an iteration can (so the whole next image is asked for before its turn), and is never under one float or
/// over a line (16 floats: no line skipped), or two for a loop that asks for two an iteration. <see cref="PrefetchStream"/>: moves
/// on by its step, a call's worth of lines at a time too, and hands out null past its end.
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

    [Theory]
    [InlineData(65536, 2816, 24)]    // 64 channels of 32x32 over 22 steps of 2 blocks of 64 taps (64→16 1x1): two lines an ask
    [InlineData(65536, 1000, 32)]    // two lines an ask still short: the region's start covered
    [InlineData(100, 7, 15)]         // where one line would do, the same step as with one
    public void Two_lines_an_iteration_cover_twice_as_much(long floats, long iterations, long expected)
    {
        nint step = CacheLines.StepOver(floats, iterations, lines: 2);
        Assert.Equal(expected, (long)step);
        if (step < 32) Assert.True(step * iterations >= floats);
    }

    [Fact]
    public unsafe void A_stream_asks_for_a_calls_worth_of_lines_and_for_two_lines_at_once()
    {
        float* region = stackalloc float[256];
        var stream = PrefetchStream.Over(region, 200, 1);   // a line per ask
        Assert.Equal(16, (long)stream.Step);
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported) return;
        Assert.True(stream.AskLines(3).At == region + 48);
        Assert.True(stream.AskLines(3).AskLines(9).At == region + 192);
        Assert.True(stream.AskLines(13).At == null && stream.AskLines(100).At == null);   // past its end: none
        Assert.True(default(PrefetchStream).AskLines(4).At == null);
        Assert.True(PrefetchStream.AskTwo(region, 32) == region + 32 && PrefetchStream.AskTwo(null, 32) == null);
    }

    [Fact]
    public unsafe void A_stream_moves_on_by_its_step_and_hands_out_null_past_its_end()
    {
        float* region = stackalloc float[64];
        var stream = PrefetchStream.Over(region, 40, 4);   // a step of 10
        Assert.Equal(10, (long)stream.Step);
        Assert.True(stream.After(2).At == region + 20 && stream.After(3).At == region + 30);
        Assert.True(stream.After(4).At == null && stream.After(9).At == null);   // at or past its end: none
        Assert.Equal(4, stream.AsksLeft);
        Assert.Equal(1, stream.After(3).AsksLeft);
        Assert.Equal(0, default(PrefetchStream).AsksLeft);
        Assert.True(default(PrefetchStream).After(5).At == null && PrefetchStream.Over(null, 40, 4).At == null);
        Assert.True(PrefetchStream.Ask(region, 10) == region + 10 || !System.Runtime.Intrinsics.X86.Sse.IsSupported);
        Assert.True(PrefetchStream.Ask(null, 10) == null);
    }

    [Fact]
    public unsafe void A_region_stream_covers_each_region_a_line_at_a_time_and_then_stops()
    {
        float* planes = stackalloc float[300];
        var stream = new RegionStream(planes, 100, 3, 40);   // three regions of 40 floats (3 lines each), 100 apart
        Assert.Equal(9, stream.Lines);
        Assert.Equal(3, stream.PerAsk(3));
        Assert.Equal(1, stream.PerAsk(100));
        Assert.Equal(0, stream.PerAsk(0));
        Assert.Equal(0, default(RegionStream).Lines);
        Assert.Equal(0, default(RegionStream).PerAsk(10));
        Assert.True(default(RegionStream).Next == null && new RegionStream(null, 100, 3, 40).Lines == 0);
        Assert.True(stream.Next == planes);
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported) return;
        stream.Ask(2);
        Assert.True(stream.Next == planes + 32);
        stream.Ask(1);
        Assert.True(stream.Next == planes + 100);   // the first region's three lines asked for: the second's start
        stream.Ask(4);
        Assert.True(stream.Next == planes + 216);
        stream.Ask(64);
        Assert.True(stream.Next == null);   // every region covered: nothing more
    }

    [Fact]
    public unsafe void Upcoming_reads_are_asked_for_a_line_at_a_time_x_first_and_then_stop()
    {
        // One group of 2 inputs and 3 outputs on 4x5 planes: x 40 floats (3 lines), each dY block 60 floats (4 lines).
        var g = new Conv2dGeometry(2, 2, 4, 5, 3, 1, 1);
        float* x = stackalloc float[64], first = stackalloc float[64], second = stackalloc float[64];
        var both = new ChannelBlockedConv.Upcoming(x, first, second).ByLines(g, out long lines);
        Assert.Equal(11, lines);
        Assert.True(both.X.At == x && both.X.Step == 16 && both.First.At == first && both.Second.At == second);
        new ChannelBlockedConv.Upcoming(x, first, null).ByLines(g, out long withoutSecond);
        Assert.Equal(7, withoutSecond);
        default(ChannelBlockedConv.Upcoming).ByLines(g, out long none);
        Assert.Equal(0, none);
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported) return;
        var asked = both.AskLines(2);
        Assert.True(asked.X.At == x + 32 && asked.First.At == first);
        asked = asked.AskLines(3);   // x's last line, then two of the first block
        Assert.True(asked.X.IsEmpty && asked.First.At == first + 32 && asked.Second.At == second);
        asked = asked.AskLines(6);   // the first block's last two lines and all of the second's
        Assert.True(asked.X.IsEmpty && asked.First.IsEmpty && asked.Second.IsEmpty);
        Assert.True(default(ChannelBlockedConv.Upcoming).AskLines(5).X.IsEmpty);
    }
}
