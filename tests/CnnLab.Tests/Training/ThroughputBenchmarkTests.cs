using CnnLab.Training;
using Xunit;

namespace CnnLab.Tests;

/// <summary>The training-throughput benchmark behind <c>cnnlab bench</c>: a short run, and its option checks.</summary>
public class ThroughputBenchmarkTests
{
    [Fact]
    public void ShortRunReportsStepsThroughputAndMemory()
    {
        var r = ThroughputBenchmark.Run(new ThroughputOptions
        {
            Model = "lenet5", Batch = 8, InferBatch = 16, Threads = 1, Seconds = 0.05, WarmupSteps = 1, WarmupSeconds = 0.02,
        });
        Assert.Equal("lenet5", r.Model);
        Assert.True(r.TrainSteps >= 2, $"{r.TrainSteps} timed steps");
        Assert.True(r.TrainImagesPerSec > 0 && double.IsFinite(r.TrainImagesPerSec));
        Assert.True(r.InferImagesPerSec > 0 && double.IsFinite(r.InferImagesPerSec));
        Assert.True(r.PeakWorkingSetMb > 0);
    }

    [Theory]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    public void NegativeOrNaNWarmupIsRejected(double seconds)
    {
        var e = Assert.Throws<ArgumentException>(() => ThroughputBenchmark.Run(new ThroughputOptions { WarmupSeconds = seconds }));
        Assert.Contains("warm-up seconds", e.Message);
    }
}
