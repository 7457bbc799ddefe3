using System.Diagnostics;
using System.Text.Json.Nodes;
using CnnLab.Serialization;
using CnnLab.IO;

namespace CnnLab.Lab;

/// <summary>Runs experiments, writes each one's results.json, the combined results.json and index.html.</summary>
public static class LabRunner
{
    /// <summary>The outcome of a lab run.</summary>
    public sealed record LabRun(IReadOnlyList<(Experiment Experiment, ExperimentResult? Result, string? Error)> Results, JsonObject Manifest,
        string ReportPath);

    public static LabRun Run(IReadOnlyList<Experiment> experiments, string outDir, Data.TrainTestSplit data, string dataDescription,
        LabMode mode, long seed, int threads, TextWriter log)
    {
        Directory.CreateDirectory(outDir);
        var total = Stopwatch.StartNew();
        var results = new List<(Experiment, ExperimentResult?, string?)>();
        foreach (var e in experiments)
        {
            log.WriteLine($"[{results.Count + 1}/{experiments.Count}] {e.Name}: {e.Title}");
            var ctx = new LabContext(Path.Combine(outDir, e.Name), data, dataDescription, mode, seed, log);
            var clock = Stopwatch.StartNew();
            try
            {
                var r = e.Run(ctx);
                r.Seconds = clock.Elapsed.TotalSeconds;
                AtomicFile.WriteAllText(Path.Combine(ctx.OutDir, "results.json"), LabJson.ResultNode(r).ToJsonString(LabJson.Options));
                log.WriteLine($"      {(r.Agrees ? "agrees" : "disagrees")} ({r.Seconds:0.0}s): {r.Verdict}");
                results.Add((e, r, null));
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException)
            {
                log.WriteLine($"      failed: {ex.Message}");
                results.Add((e, null, ex.Message));
            }
        }
        var manifest = new JsonObject
        {
            ["cnnlab_version"] = typeof(LabRunner).Assembly.GetName().Version?.ToString(),
            ["mode"] = mode.ToString().ToLowerInvariant(),
            ["seed"] = seed,
            ["threads"] = threads,
            ["data"] = dataDescription,
            ["dotnet"] = Environment.Version.ToString(),
            ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
            ["machine"] = $"{Environment.ProcessorCount} logical cores, {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}, "
                + $"AVX-512 {(System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? "yes" : "no")}",
            ["started_utc"] = DateTime.UtcNow.AddSeconds(-total.Elapsed.TotalSeconds).ToString("u"),
            ["seconds"] = Math.Round(total.Elapsed.TotalSeconds, 1),
        };
        var combined = new JsonObject
        {
            ["experiments"] = new JsonObject(results.Select(r => KeyValuePair.Create(r.Item1.Name,
                r.Item2 is null
                    ? (JsonNode?)new JsonObject { ["claim"] = r.Item1.Claim, ["error"] = r.Item3, ["agrees"] = false }
                    : LabJson.ResultNode(r.Item2)))),
            ["manifest"] = manifest,
        };
        AtomicFile.WriteAllText(Path.Combine(outDir, "results.json"), combined.ToJsonString(LabJson.Options));
        var report = Path.Combine(outDir, "index.html");
        AtomicFile.WriteAllText(report, LabReport.Html(results, manifest));
        return new LabRun(results, manifest, report);
    }
}
