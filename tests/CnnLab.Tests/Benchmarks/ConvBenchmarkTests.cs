using CnnLab.Benchmarks;
using System.Runtime.Intrinsics.X86;
using System.Text.Json;
using CnnLab.Training;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// The convolution benchmark behind <c>cnnlab bench --convs</c>: every zoo convolution timed on the path training
/// takes, finite GFLOP/s, the measured FMA peak, the CLI's table and JSON, and its option checks.
/// </summary>
public class ConvBenchmarkTests
{
    [Fact]
    public void Times_every_zoo_convolution_on_the_path_training_takes()
    {
        var rows = ConvBenchmark.Run(batch: 2, threads: 1, seconds: 0.001);
        Assert.Equal(["cnn-small conv1", "cnn-small conv2", "cnn-bn conv1", "cnn-bn conv2", "lenet5 conv1", "lenet5 conv2"],
            rows.Select(r => r.Layer));
        Assert.All(rows, r =>
            Assert.True(r.ForwardMs > 0 && r.BackwardMs > 0 && double.IsFinite(r.ForwardGflops) && double.IsFinite(r.BackwardGflops)));
        // The zoo's fused stages time their backward as one: dx and dW are not timed apart.
        Assert.All(rows, r => Assert.True(double.IsNaN(r.InputGradientMs) && double.IsNaN(r.WeightGradientGflops)));
        Assert.Equal("6→16, 5x5, 14x14→10x10", rows[5].Shape);
        Assert.StartsWith("Winograd", rows[1].Runs);
        if (!Avx512F.IsSupported) return;
        Assert.StartsWith("direct conv+ReLU+pool", rows[0].Runs);
        Assert.StartsWith("single-channel/im2col+GEMM/im2col+GEMM conv + plane statistics", rows[2].Runs);
        Assert.StartsWith("direct conv+ReLU+pool", rows[4].Runs);
        Assert.StartsWith("channel-blocked", rows[5].Runs);
    }

    [Fact]
    public void Measures_a_positive_FMA_peak() => Assert.True(FmaPeak.Measure() > 0);

    [Fact]
    public void Cli_prints_a_table_or_one_JSON_object()
    {
        var table = Cli.Run("bench", "--convs", "--batch", "2", "--threads", "1", "--seconds", "0.02");
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("FMA peak measured", table.Stdout);
        Assert.Contains("lenet5 conv2", table.Stdout);
        var json = Cli.Run("bench", "--convs", "--batch", "2", "--threads", "1", "--seconds", "0.02", "--json");
        Assert.Equal(0, json.ExitCode);
        using var doc = JsonDocument.Parse(json.Stdout);
        Assert.True(doc.RootElement.GetProperty("fma_peak_gflops").GetDouble() > 0);
        Assert.Equal(6, doc.RootElement.GetProperty("layers").GetArrayLength());
    }

    [Theory]
    [InlineData("--batch", "0", "--batch must be 1..4096")]
    [InlineData("--seconds", "0", "--seconds must be above 0")]
    public void Cli_names_a_bad_option(string option, string value, string message)
    {
        var r = Cli.Run("bench", "--convs", option, value);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains(message, r.Stderr);
    }

    [Fact]
    public void Times_a_specs_own_convolutions_with_their_strides_dilations_and_groups()
    {
        string spec = Path.Combine(ChildProcess.RepoRoot, "bench", "models", "depthwise-dilated.json");
        var rows = ConvBenchmark.Run(spec, batch: 2, threads: 1, seconds: 0.001);
        Assert.Equal(6, rows.Count);
        Assert.All(rows, r => Assert.True(r.ForwardMs > 0 && r.BackwardMs > 0 && double.IsFinite(r.BackwardGflops)));
        Assert.Contains("32 groups", rows[1].Runs);
        Assert.Contains("4 groups", rows[3].Runs);
        Assert.Equal("64→64, 3x3, 16x16→8x8", rows[4].Shape);
        Assert.EndsWith("; dW, db", rows[0].Runs);   // the first layer reads the model's input: no dx
        Assert.Contains("dx, dW", rows[1].Runs);
        // dx and dW each alone too, but the first layer's dx (it has none).
        Assert.True(double.IsNaN(rows[0].InputGradientMs) && rows[0].WeightGradientMs > 0 && rows[0].WeightGradientGflops > 0);
        Assert.All(rows.Skip(1), r => Assert.True(r.InputGradientMs > 0 && r.InputGradientGflops > 0 && r.WeightGradientMs > 0));
        var cli = Cli.Run("bench", "--model", "lenet5", "--convs", "--batch", "2", "--seconds", "0.01", "--threads", "1");
        Assert.Equal(0, cli.ExitCode);
        Assert.Contains("lenet5 0 ", cli.Stdout);
        Assert.Contains("lenet5 3 ", cli.Stdout);
        Assert.Contains(" dx ms ", cli.Stdout);
        Assert.Contains("     –     –", cli.Stdout);   // the first layer's dx
        Assert.Contains("bwd runs them together", cli.Stdout);   // what the passes alone do not see
        var json = Cli.Run("bench", "--model", "lenet5", "--convs", "--batch", "2", "--seconds", "0.01", "--threads", "1", "--json");
        Assert.Equal(0, json.ExitCode);
        using var doc = JsonDocument.Parse(json.Stdout);
        var layers = doc.RootElement.GetProperty("layers");
        Assert.Equal(JsonValueKind.Null, layers[0].GetProperty("input_gradient_ms").ValueKind);
        Assert.True(layers[1].GetProperty("input_gradient_ms").GetDouble() > 0);
        Assert.True(layers[1].GetProperty("weight_gradient_gflops").GetDouble() > 0);
        Assert.Equal(2, Cli.Run("bench", "--model", "nope", "--convs").ExitCode);
    }
}
