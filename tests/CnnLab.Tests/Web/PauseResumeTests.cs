using System.Net;
using System.Text.Json;
using CnnLab.Training;
using Xunit;

namespace CnnLab.Tests.Web;

/// <summary>The Playground's pause and resume: a checkpoint at the paused step, then the same run and stream going on to the end.</summary>
public class PauseResumeTests
{
    // Long enough (3000 MLP steps) to be paused after its first batch, short enough to finish once resumed.
    private const string Job = """{"model": "mlp", "batch_size": 16, "epochs": 1000, "max_steps": 3000, "optimizer": "sgd", "lr": 0.01}""";

    private static async Task<JsonElement> Json(HttpResponseMessage response, HttpStatusCode expected)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement;
    }

    private static async Task<JsonElement> UntilState(EventStream events, string state)
    {
        while (true)
        {
            var (data, _) = await events.Until("status");
            var status = JsonDocument.Parse(data).RootElement;
            if (status.GetProperty("state").GetString() == state) return status;
        }
    }

    private static async Task AssertError(HttpResponseMessage response, HttpStatusCode status, string message)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{response.StatusCode}: {text}");
        Assert.StartsWith(message, text);
        Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task PauseSavesACheckpointAndResumeContinuesTheSameRunToTheEnd()
    {
        await using var host = await WebHost.Start();
        var job = await Json(await host.StartJob(Job), HttpStatusCode.Created);
        int id = job.GetProperty("id").GetInt32();
        var folder = Path.Combine(host.Runs, job.GetProperty("run").GetString()!);
        using var events = await EventStream.Open(host.Client, $"/api/jobs/{id}/events");
        await events.Until("batch");
        await AssertError(await host.Client.PostAsync($"/api/jobs/{id}/resume", null), HttpStatusCode.Conflict,
            $"cannot resume job {id}: it is not paused (it is running)");

        await Json(await host.Client.PostAsync($"/api/jobs/{id}/pause", null), HttpStatusCode.OK);
        var paused = await UntilState(events, "paused");
        long k = paused.GetProperty("steps").GetInt64();
        Assert.InRange(k, 1, 2999);
        Assert.Equal($"paused at step {k}; checkpoint saved", paused.GetProperty("message").GetString());
        Assert.True(Checkpoint.Exists(folder));
        Assert.Equal(k, Checkpoint.Load(folder).State.Step);
        await AssertError(await host.Client.PostAsync($"/api/jobs/{id}/pause", null), HttpStatusCode.Conflict,
            $"cannot pause job {id}: it is not running (it is paused)");

        var resumed = await Json(await host.Client.PostAsync($"/api/jobs/{id}/resume", null), HttpStatusCode.OK);
        Assert.Equal(k, resumed.GetProperty("steps").GetInt64());
        // The same stream goes on: the first batch after the pause is step k + 1, the last is the run's end.
        var (firstBatch, _) = await events.Until("batch");
        Assert.Equal(k + 1, JsonDocument.Parse(firstBatch).RootElement.GetProperty("step").GetInt64());
        var (done, before) = await events.Until("done");
        using var end = JsonDocument.Parse(done);
        Assert.True(end.RootElement.GetProperty("state").GetString() == "completed", done);
        Assert.Equal(3000, end.RootElement.GetProperty("steps").GetInt64());
        Assert.All(before.Where(e => e.Name == "batch"), e => Assert.True(JsonDocument.Parse(e.Data).RootElement.GetProperty("step").GetInt64() > k));
        Assert.Equal(3000, Checkpoint.Load(folder).State.Step);
        Assert.Single(Directory.EnumerateDirectories(host.Runs));
    }

    [Fact]
    public async Task StopEndsAPausedJobAndBadRequestsAreOneLine4xx()
    {
        await using var host = await WebHost.Start();
        await AssertError(await host.Client.PostAsync("/api/jobs/99/resume", null), HttpStatusCode.NotFound, "no job 99 on this server");
        await AssertError(await host.Client.PostAsync("/api/jobs/99/pause", null), HttpStatusCode.NotFound, "no job 99 on this server");
        var job = await Json(await host.StartJob(Job), HttpStatusCode.Created);
        int id = job.GetProperty("id").GetInt32();
        using var events = await EventStream.Open(host.Client, $"/api/jobs/{id}/events");
        await events.Until("batch");
        await Json(await host.Client.PostAsync($"/api/jobs/{id}/pause", null), HttpStatusCode.OK);
        var paused = await UntilState(events, "paused");

        await Json(await host.Client.PostAsync($"/api/jobs/{id}/stop", null), HttpStatusCode.OK);
        var (done, _) = await events.Until("done");
        using var end = JsonDocument.Parse(done);
        Assert.Equal("stopped", end.RootElement.GetProperty("state").GetString());
        Assert.Equal(paused.GetProperty("steps").GetInt64(), end.RootElement.GetProperty("steps").GetInt64());
        await AssertError(await host.Client.PostAsync($"/api/jobs/{id}/resume", null), HttpStatusCode.Conflict,
            $"cannot resume job {id}: it is not paused (it is stopped)");
    }
}
