using System.Net;
using System.Text.Json;
using CnnLab.Training;
using Xunit;

namespace CnnLab.Tests.Web;

/// <summary>The Playground's API: jobs start, stream their progress, stop with a checkpoint, queue, and bad values are 400.</summary>
public class PlaygroundTests
{
    // A quick job: the MLP on 200 images, a few steps.
    private const string Quick = """{"model": "mlp", "batch_size": 16, "epochs": 1, "max_steps": 5, "lr": "0.01", "optimizer": "sgd"}""";

    // A job that runs until stopped (13 batches an epoch: hours of epochs).
    private const string Long = """{"model": "mlp", "batch_size": 16, "epochs": 100000}""";

    private static async Task<JsonElement> Json(HttpResponseMessage response, HttpStatusCode expected)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement;
    }

    [Fact]
    public async Task AJobTrainsStreamsItsProgressAndWritesAnOrdinaryRunFolder()
    {
        await using var host = await WebHost.Start();
        var job = await Json(await host.StartJob(Quick), HttpStatusCode.Created);
        int id = job.GetProperty("id").GetInt32();
        string run = job.GetProperty("run").GetString()!;
        Assert.Equal(5, job.GetProperty("total_steps").GetInt64());

        using var events = await EventStream.Open(host.Client, $"/api/jobs/{id}/events");
        var (done, before) = await events.Until("done");
        using var end = JsonDocument.Parse(done);
        Assert.True(end.RootElement.GetProperty("state").GetString() == "completed", done);
        Assert.Equal(5, end.RootElement.GetProperty("steps").GetInt64());
        var batches = before.Where(e => e.Name == "batch").Select(e => JsonDocument.Parse(e.Data).RootElement).ToList();
        Assert.NotEmpty(batches);
        Assert.Equal(5, batches[^1].GetProperty("step").GetInt64());
        Assert.True(batches[^1].GetProperty("loss").GetDouble() > 0);
        Assert.Null(await events.Next(30));   // the stream ends with the job
        // The init doctor's numbers before the first step, per weight layer of the MLP (784-256-256-10).
        var layers = JsonDocument.Parse(before.First(e => e.Name == "layers").Data).RootElement;
        Assert.Equal(0, layers.GetProperty("step").GetInt64());
        var rows = layers.GetProperty("layers").EnumerateArray().ToList();
        Assert.Equal(3, rows.Count);
        Assert.All(rows, r => Assert.True(r.GetProperty("activation_std").GetDouble() > 0));
        Assert.All(rows, r => Assert.True(r.GetProperty("grad_std").GetDouble() > 0));
        Assert.All(rows, r => Assert.Equal(JsonValueKind.Null, r.GetProperty("update_ratio").ValueKind));

        var folder = Path.Combine(host.Runs, run);
        Assert.True(Checkpoint.Exists(folder));
        Assert.Equal("mlp", Checkpoint.Load(folder).Config.Model);
        var detail = await Json(await host.Client.GetAsync($"/api/runs/{run}"), HttpStatusCode.OK);
        Assert.Equal("sgd", detail.GetProperty("config").GetProperty("optimizer").GetString());
        Assert.Contains("model.safetensors", detail.GetProperty("files").EnumerateArray().Select(f => f.GetString()));

        // A page opened after the end sees the whole job again.
        using var replay = await EventStream.Open(host.Client, $"/api/jobs/{id}/events");
        var (again, _) = await replay.Until("done", 30);
        Assert.Equal(done, again);
    }

    [Fact]
    public async Task StopSavesACheckpointAndAQueuedJobWaitsForItsTurn()
    {
        await using var host = await WebHost.Start(jobs: 1);
        var first = await Json(await host.StartJob(Long), HttpStatusCode.Created);
        var second = await Json(await host.StartJob(Long), HttpStatusCode.Created);
        int a = first.GetProperty("id").GetInt32(), b = second.GetProperty("id").GetInt32();
        using var firstEvents = await EventStream.Open(host.Client, $"/api/jobs/{a}/events");
        await firstEvents.Until("batch");
        var jobs = await Json(await host.Client.GetAsync("/api/jobs"), HttpStatusCode.OK);
        var queued = jobs.EnumerateArray().Single(j => j.GetProperty("id").GetInt32() == b);
        Assert.Equal("queued", queued.GetProperty("state").GetString());
        Assert.Equal(1, queued.GetProperty("position").GetInt32());

        // A page that goes away stops nothing: closing a second stream leaves the job running.
        (await EventStream.Open(host.Client, $"/api/jobs/{a}/events")).Dispose();
        await firstEvents.Until("epoch");

        await Json(await host.Client.PostAsync($"/api/jobs/{b}/stop", null), HttpStatusCode.OK);
        using var secondEvents = await EventStream.Open(host.Client, $"/api/jobs/{b}/events");
        var (secondDone, _) = await secondEvents.Until("done");
        Assert.Contains("\"stopped while queued\"", secondDone);

        await Json(await host.Client.PostAsync($"/api/jobs/{a}/stop", null), HttpStatusCode.OK);
        var (firstDone, firstBefore) = await firstEvents.Until("done");
        // After an epoch, the doctor's numbers again, with how far each layer's weights moved.
        var afterEpoch = firstBefore.Where(e => e.Name == "layers").Select(e => JsonDocument.Parse(e.Data).RootElement)
            .First(l => l.GetProperty("epoch").GetInt32() >= 1);
        Assert.All(afterEpoch.GetProperty("layers").EnumerateArray(), r => Assert.True(r.GetProperty("update_ratio").GetDouble() > 0));
        using var end = JsonDocument.Parse(firstDone);
        Assert.Equal("stopped", end.RootElement.GetProperty("state").GetString());
        var folder = Path.Combine(host.Runs, first.GetProperty("run").GetString()!);
        Assert.True(Checkpoint.Exists(folder));
        Assert.Equal(end.RootElement.GetProperty("steps").GetInt64(), Checkpoint.Load(folder).State.Step);
        Assert.False(Directory.Exists(Path.Combine(host.Runs, second.GetProperty("run").GetString()!)));
    }

    [Fact]
    public async Task StoppingTheServerStopsRunningJobsWithACheckpoint()
    {
        var host = await WebHost.Start();
        var job = await Json(await host.StartJob(Long), HttpStatusCode.Created);
        using (var events = await EventStream.Open(host.Client, $"/api/jobs/{job.GetProperty("id").GetInt32()}/events"))
            await events.Until("batch");
        await host.DisposeAsync();
        var folder = Path.Combine(host.Runs, job.GetProperty("run").GetString()!);
        Assert.True(Checkpoint.Exists(folder));
        Assert.True(Checkpoint.Load(folder).State.Step >= 1);
        Assert.False(RunFolder.IsBeingWritten(folder));
    }

    [Theory]
    [InlineData("""{"lr": -1}""", "--lr must be a positive number, got -1")]
    [InlineData("""{"lr": "fast"}""", "--lr must be a number, got \"fast\"")]
    [InlineData("""{"weight_decay": -0.5}""", "--weight-decay must be >= 0, got -0.5")]
    [InlineData("""{"batch_size": 0}""", "--batch-size must be between 1 and 65536, got 0")]
    [InlineData("""{"batch_size": 1.5}""", "--batch-size must be a whole number, got 1.5")]
    [InlineData("""{"epochs": 0}""", "--epochs must be at least 1, got 0")]
    [InlineData("""{"max_steps": 0}""", "--max-steps must be at least 1, got 0")]
    [InlineData("""{"momentum": 1}""", "--momentum must be in [0, 1), got 1")]
    [InlineData("""{"optimizer": "lion"}""", "--optimizer 'lion' is unknown: expected sgd, adam, adamw, adamw-paper, rmsprop")]
    [InlineData("""{"schedule": "cyclic"}""", "--schedule 'cyclic' is unknown: expected none, cosine, step, onecycle, warmup-cosine")]
    [InlineData("""{"pool": "min"}""", "unknown pool 'min': expected max, avg or conv")]
    [InlineData("""{"relu_order": "never"}""", "unknown relu order 'never': expected before-pool or after-pool")]
    [InlineData("""{"init": "magic"}""", "unknown init scheme 'magic'; valid schemes: ")]
    [InlineData("""{"model": "/etc/passwd"}""", "--model '/etc/passwd' is not a zoo model: expected one of lenet5, cnn-small")]
    [InlineData("""{"model": 3}""", "--model must be a string, got 3")]
    [InlineData("""{"learning_rate": 0.1}""", "unknown field 'learning_rate': expected model, init, optimizer, lr")]
    [InlineData("""[1, 2]""", "the request body must be a JSON object of training options")]
    [InlineData("""{"lr": """, "")]
    public async Task EveryBadParameterIsA400WithTheClisMessage(string body, string message)
    {
        await using var host = await WebHost.Start();
        using var response = await host.StartJob(body);
        string text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.StartsWith(message, text);
        Assert.EndsWith("\n", text);
        Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Empty(Directory.EnumerateDirectories(host.Runs));
        Assert.Empty(host.App.Services.GetService(typeof(CnnLab.Web.JobQueue)) is CnnLab.Web.JobQueue q ? q.Jobs : []);
    }

    [Fact]
    public async Task AModelThatDoesNotFitTheDataIsA400BeforeAnythingIsQueued()
    {
        await using var host = await WebHost.Start();
        // cnn-small's activations for a batch of 65536 are over the activation budget.
        using var response = await host.StartJob("""{"model": "cnn-small", "batch_size": 65536}""");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("--batch-size 65536", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AnUnknownJobIs404()
    {
        await using var host = await WebHost.Start();
        using var response = await host.Client.PostAsync("/api/jobs/99/stop", null);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("no job 99 on this server\n", await response.Content.ReadAsStringAsync());
    }
}
