using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using CnnLab.Lab;
using Xunit;

namespace CnnLab.Tests.Web;

/// <summary>The Report page's re-run: one experiment with its quick budget, merged into the served report, one at a time.</summary>
public class ReportRerunTests
{
    // A stand-in experiment: its verdict says how many times it ran; a gate, when given, holds it until the test opens it.
    private sealed class Counting(string name, int order, TaskCompletionSource? gate = null) : Experiment
    {
        public int Runs;

        public override ExperimentInfo Info { get; } = new(Name: name, Title: $"Counts {name}", Topic: "Initialization", Order: order,
            Claim: "It counts.");

        public override ExperimentResult Run(LabContext ctx)
        {
            gate?.Task.Wait(TimeSpan.FromMinutes(2));
            int run = Interlocked.Increment(ref Runs);
            ctx.Log.WriteLine($"run {run} of {name}");
            return new ExperimentResult { Claim = Claim, Verdict = $"{name} run {run}", Agrees = run > 1 };
        }
    }

    private static async Task<(HttpStatusCode, string)> Post(WebHost host, string url)
    {
        using var response = await host.Client.PostAsync(url, null);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ReRunningOneExperimentReplacesItsSectionAndKeepsTheOthers()
    {
        string report = TinyData.TempDir("web-report");
        var a = new Counting("alpha", 1);
        var b = new Counting("beta", 2);
        LabRunner.Run([a, b], report, CnnLab.Data.FashionMnist.LoadEmbeddedSubset(), "test data", LabMode.Quick, 0, 1, TextWriter.Null);
        Assert.Contains("<strong>0 of 2</strong>", File.ReadAllText(Path.Combine(report, "index.html")));
        await using var host = await WebHost.Start(report: report, experiments: () => [a, b]);

        var list = JsonDocument.Parse(await host.Client.GetStringAsync("/api/report/experiments")).RootElement;
        Assert.Equal(["alpha", "beta"], list.GetProperty("experiments").EnumerateArray().Select(e => e.GetProperty("name").GetString()));
        var (status, text) = await Post(host, "/api/report/experiments/alpha/rerun");
        Assert.True(status == HttpStatusCode.Accepted, text);
        using var events = await EventStream.Open(host.Client, "/api/report/rerun/events");
        var (done, before) = await events.Until("done");
        var end = JsonDocument.Parse(done).RootElement;
        Assert.True(end.GetProperty("state").GetString() == "done", done);
        Assert.StartsWith("alpha agrees (", end.GetProperty("message").GetString());
        Assert.Contains(before, e => e.Name == "log" && e.Data.Contains("run 2 of alpha"));

        string html = File.ReadAllText(Path.Combine(report, "index.html"));
        Assert.Contains("alpha run 2", html);
        Assert.DoesNotContain("alpha run 1", html);
        Assert.Contains("beta run 1", html);
        Assert.Contains("<strong>1 of 2</strong>", html);
        var results = JsonNode.Parse(File.ReadAllText(Path.Combine(report, "results.json")))!["experiments"]!;
        Assert.True((bool)results["alpha"]!["agrees"]!);
        Assert.False((bool)results["beta"]!["agrees"]!);
        Assert.Equal(1, b.Runs);
        Assert.False(Directory.Exists(Path.Combine(report, ".rerun-alpha")));
        var after = JsonDocument.Parse(await host.Client.GetStringAsync("/api/report/experiments")).RootElement;
        Assert.Equal("done", after.GetProperty("rerun").GetProperty("state").GetString());
    }

    [Fact]
    public async Task OneAtATimeAndUnknownNamesAreRefusedWithOneLine()
    {
        string report = TinyData.TempDir("web-report");
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var slow = new Counting("slow", 1, gate);
        await using var host = await WebHost.Start(report: report, experiments: () => [slow, new Counting("other", 2)]);
        using (var none = await host.Client.GetAsync("/api/report/rerun/events"))
            Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
        Assert.Equal((HttpStatusCode.BadRequest, "unknown experiment 'nope': expected one of slow, other\n"),
            await Post(host, "/api/report/experiments/nope/rerun"));

        Assert.Equal(HttpStatusCode.Accepted, (await Post(host, "/api/report/experiments/slow/rerun")).Item1);
        var (busy, text) = await Post(host, "/api/report/experiments/other/rerun");
        Assert.Equal(HttpStatusCode.Conflict, busy);
        Assert.StartsWith("an experiment is already being re-run (", text);
        Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        gate.SetResult();
        using var events = await EventStream.Open(host.Client, "/api/report/rerun/events");
        var (done, _) = await events.Until("done");
        Assert.Contains("\"state\":\"done\"", done);
        // No report before: the re-run experiment alone is the report now.
        Assert.Contains("slow run 1", File.ReadAllText(Path.Combine(report, "index.html")));
        Assert.Equal(HttpStatusCode.Accepted, (await Post(host, "/api/report/experiments/other/rerun")).Item1);
        using var second = await EventStream.Open(host.Client, "/api/report/rerun/events");
        Assert.Contains("\"experiment\":\"other\"", (await second.Until("done")).Data);
        Assert.Contains("slow run 1", File.ReadAllText(Path.Combine(report, "index.html")));
        Assert.Contains("other run 1", File.ReadAllText(Path.Combine(report, "index.html")));
    }
}
