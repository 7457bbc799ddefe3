using CnnLab.Benchmarks;
using CnnLab.Training;
using Xunit;
using CnnLab.IO;

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

    [Fact]
    public void A_json_spec_runs_on_its_own_input_shape_and_classes_with_either_loop()
    {
        string path = Path.Combine(Path.GetTempPath(), $"cnnlab-bench-spec-{Environment.ProcessId}.json");
        File.WriteAllText(path, """
            { "name": "rgb", "input": [3, 9, 11], "layers": [
              { "type": "conv2d", "out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1 }, { "type": "gelu" },
              { "type": "adaptive_avgpool2d", "output_size": 1 }, { "type": "flatten" }, { "type": "linear", "out_features": 3 } ] }
            """);
        try
        {
            foreach (bool arena in new[] { false, true })
            {
                var r = ThroughputBenchmark.Run(new ThroughputOptions
                {
                    Model = path, Batch = 4, InferBatch = 1, Threads = 1, Seconds = 0.05, WarmupSteps = 1, WarmupSeconds = 0, Arena = arena,
                });
                Assert.Equal("rgb", r.Model);  // the spec's name
                Assert.Equal(arena, r.Arena);
                Assert.Equal(1, r.InferBatch);
                Assert.True(r.TrainImagesPerSec > 0 && r.InferImagesPerSec > 0);
            }
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void A_spec_whose_output_is_not_classes_names_the_file()
    {
        string path = Path.Combine(Path.GetTempPath(), $"cnnlab-bench-bad-{Environment.ProcessId}.json");
        File.WriteAllText(path, """{ "input": [1, 8, 8], "layers": [ { "type": "conv2d", "out_channels": 2, "kernel_size": 3 } ] }""");
        try
        {
            var e = Assert.Throws<InvalidFileException>(() => ThroughputBenchmark.Run(new ThroughputOptions { Model = path, Seconds = 0.05 }));
            Assert.Contains(path, e.Message);
            Assert.Contains("[N, classes]", e.Message);
        }
        finally { File.Delete(path); }
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
