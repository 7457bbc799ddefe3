using CnnLab.Kernels;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// <see cref="CacheLines.StepOver"/>: the step a kernel's loop moves its prefetch on by covers the region in the iterations it
/// has (so the whole next image is asked for before its turn), at least one float, and no more than a step past it.
/// </summary>
public class CacheLinesTests
{
    [Theory]
    [InlineData(32768, 9216, 4)]     // 32 channels of 32x32 over 32 blocks of 288 taps
    [InlineData(16384, 36 * 256, 2)] // 64 channels of 16x16 over 36 blocks of taps, 256 pixels each
    [InlineData(100, 7, 15)]         // rounded up: 7 · 15 ≥ 100
    [InlineData(5, 1000, 1)]         // more iterations than floats: one float at a time
    [InlineData(64, 0, 64)]          // no iterations: one step covers it all
    public void Covers_the_region_in_the_iterations(long floats, long iterations, long expected)
    {
        nint step = CacheLines.StepOver(floats, iterations);
        Assert.Equal(expected, (long)step);
        Assert.True(step * Math.Max(1, iterations) >= floats);
        Assert.True((step - 1) * Math.Max(1, iterations) < floats || step == 1);
    }

    [Fact]
    public unsafe void Ahead_moves_on_by_its_step_and_leaves_null_alone()
    {
        float* region = stackalloc float[64];
        float* at = region;
        CacheLines.Ahead(ref at, 16);
        CacheLines.Ahead(ref at, 16);
        Assert.True(at == region + 32 || !System.Runtime.Intrinsics.X86.Sse.IsSupported);
        float* none = null;
        CacheLines.Ahead(ref none, 16);
        Assert.True(none == null);
    }
}
