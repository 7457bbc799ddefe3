using System.Net;
using System.Text.Json;
using CnnLab.Data;
using CnnLab.Training;
using Xunit;

namespace CnnLab.Tests.Web;

/// <summary>The Runs page's API: run folders as <c>cnnlab train</c> writes them, live metrics, files, a confusion matrix.</summary>
public class RunsTests
{
    // A real run of `cnnlab train`'s Trainer: the MLP for one epoch on the host's data.
    internal static string Train(WebHost host, string name, string model = "mlp")
    {
        var split = DataSource.Resolve(host.DataDir, null).Load(DatasetOptions.Default, new List<string>());
        string dir = Path.Combine(host.Runs, name);
        var config = new TrainingConfig { Model = model, Epochs = 1, BatchSize = 50, Threads = 2 };
        Assert.Equal(TrainingStatus.Completed, new Trainer(config, split, dir).Run().Status);
        return dir;
    }

    [Fact]
    public async Task ARunShowsItsConfigMetricsFilesAndConfusionMatrix()
    {
        await using var host = await WebHost.Start();
        Train(host, "mlp-run");
        Directory.CreateDirectory(Path.Combine(host.Runs, "not-a-run"));
        var list = JsonDocument.Parse(await host.Client.GetStringAsync("/api/runs")).RootElement;
        var run = Assert.Single(list.EnumerateArray());
        Assert.Equal("mlp-run", run.GetProperty("name").GetString());
        Assert.Equal(1, run.GetProperty("epochs_done").GetInt32());
        Assert.True(run.GetProperty("checkpoint").GetBoolean());
        Assert.False(run.GetProperty("writing").GetBoolean());

        // A run in its first epoch has neither a checkpoint nor metrics yet, only its writer's lock: it is listed as training.
        using (RunFolder.Claim(Path.Combine(host.Runs, "starting")))
        {
            var starting = JsonDocument.Parse(await host.Client.GetStringAsync("/api/runs")).RootElement.EnumerateArray()
                .Single(r => r.GetProperty("name").GetString() == "starting");
            Assert.True(starting.GetProperty("writing").GetBoolean());
            Assert.Equal(0, starting.GetProperty("epochs_done").GetInt32());
        }

        var detail = JsonDocument.Parse(await host.Client.GetStringAsync("/api/runs/mlp-run")).RootElement;
        Assert.Equal("mlp", detail.GetProperty("config").GetProperty("model").GetString());
        Assert.Equal(1, detail.GetProperty("metrics")[0].GetProperty("epoch").GetInt32());

        using var weights = await host.Client.GetAsync("/api/runs/mlp-run/files/model.safetensors");
        Assert.Equal(HttpStatusCode.OK, weights.StatusCode);
        Assert.Equal(File.ReadAllBytes(Path.Combine(host.Runs, "mlp-run", "model.safetensors")), await weights.Content.ReadAsByteArrayAsync());

        using var eval = await host.Client.PostAsync("/api/runs/mlp-run/evaluate", null);
        var result = JsonDocument.Parse(await eval.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.OK, eval.StatusCode);
        Assert.Equal(100, result.GetProperty("images").GetInt64());
        Assert.Equal(10, result.GetProperty("matrix").GetArrayLength());
        long total = result.GetProperty("matrix").EnumerateArray().SelectMany(r => r.EnumerateArray()).Sum(c => c.GetInt64());
        Assert.Equal(100, total);
        Assert.Equal("T-shirt/top", result.GetProperty("classes")[0].GetString());
    }

    [Theory]
    [InlineData("/api/runs/nope", "no run 'nope' in the runs folder")]
    [InlineData("/api/runs/mlp-run/files/.lock", "run 'mlp-run' has no file '.lock'")]
    [InlineData("/api/runs/mlp-run/files/..%2F..%2Fetc%2Fpasswd", "run 'mlp-run' has no file '..")]
    [InlineData("/api/runs/nope/stream", "no run 'nope' in the runs folder")]
    public async Task WhatIsNotARunOrARunsFileIs404(string url, string message)
    {
        await using var host = await WebHost.Start();
        Directory.CreateDirectory(Path.Combine(host.Runs, "mlp-run"));
        File.WriteAllText(Path.Combine(host.Runs, "mlp-run", RunFolder.MetricsFile), "");
        using var response = await host.Client.GetAsync(url);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.StartsWith(message, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task EvaluatingARunWithoutACheckpointIsA400()
    {
        await using var host = await WebHost.Start();
        Directory.CreateDirectory(Path.Combine(host.Runs, "early"));
        File.WriteAllText(Path.Combine(host.Runs, "early", RunFolder.MetricsFile), "");
        using var response = await host.Client.PostAsync("/api/runs/early/evaluate", null);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("no config.json yet (the first checkpoint writes it)\n", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task TheMetricsStreamSendsEachLineATrainerAppends()
    {
        await using var host = await WebHost.Start();
        string dir = Path.Combine(host.Runs, "live");
        Directory.CreateDirectory(dir);
        string metrics = Path.Combine(dir, RunFolder.MetricsFile);
        File.WriteAllText(metrics, new EpochMetrics(1, 0.9, 0.7, 0.8, 0.72, 1e-3, 1, 100, 13).ToJson() + "\n");
        using var stream = await EventStream.Open(host.Client, "/api/runs/live/stream");
        var (first, _) = await stream.Until("epoch", 30);
        Assert.Equal(1, JsonDocument.Parse(first).RootElement.GetProperty("epoch").GetInt32());

        // Another process appends the next epoch, first half a line (still being written), then the rest.
        string second = new EpochMetrics(2, 0.5, 0.8, 0.6, 0.79, 1e-3, 1, 100, 26).ToJson();
        File.AppendAllText(metrics, second[..10]);
        File.AppendAllText(metrics, second[10..] + "\n");
        var (next, _) = await stream.Until("epoch", 30);
        Assert.Equal(second, next);
    }
}
