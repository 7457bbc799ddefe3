using System.Text.Json;
using System.Text.Json.Nodes;
using CnnLab.Data;
using CnnLab.Kernels;
using CnnLab.Training;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.StaticFiles;

namespace CnnLab.Web;

/// <summary>
/// The Runs page's API: the run folders, one run's config, metrics and files, its metrics as a live stream while a trainer
/// (in this server or another terminal) appends to them, and a confusion matrix computed on demand as <c>cnnlab eval</c> does.
/// </summary>
internal static class RunEndpoints
{
    // How often a run's metrics.jsonl is looked at for new lines: a trainer appends one per epoch, so a quarter second is live.
    private static readonly TimeSpan MetricsPoll = TimeSpan.FromMilliseconds(250);

    public static void Map(WebApplication app, RunCatalog runs, WebData data, ServeOptions options)
    {
        app.MapGet("/api/runs", () => Results.Json(runs.Names().Select(runs.Summary).ToArray()));
        app.MapGet("/api/runs/{name}", (string name) => WebErrors.Guard(() =>
        {
            if (runs.Folder(name) is not { } dir) return NoRun(name);
            var (config, error) = RunCatalog.ReadConfig(dir);
            var metrics = new JsonArray(RunCatalog.ReadMetrics(dir, 0).Lines.Select(l => JsonNode.Parse(l)).ToArray());
            var files = RunCatalog.Files.Where(f => File.Exists(Path.Combine(dir, f))).ToArray();
            var body = new JsonObject
            {
                ["summary"] = JsonSerializer.SerializeToNode(runs.Summary(name)),
                ["config"] = config is null ? null : JsonNode.Parse(config.ToJson()),
                ["config_error"] = error,
                ["metrics"] = metrics,
                ["files"] = JsonSerializer.SerializeToNode(files),
            };
            return Results.Content(body.ToJsonString(), "application/json");
        }));
        app.MapGet("/api/runs/{name}/stream", (string name, HttpContext context) =>
            StreamMetrics(runs, name, context, app.Lifetime.ApplicationStopping));
        app.MapGet("/api/runs/{name}/files/{file}", (string name, string file) =>
        {
            if (runs.Folder(name) is not { } dir) return NoRun(name);
            string path = Path.Combine(dir, file);
            if (!RunCatalog.Files.Contains(file) || !File.Exists(path))
                return WebErrors.NotFound($"run '{name}' has no file '{file}' (its files: {string.Join(", ", RunCatalog.Files)})");
            new FileExtensionContentTypeProvider().TryGetContentType(path, out var type);
            return Results.File(path, type ?? "application/octet-stream", file);
        });
        app.MapPost("/api/runs/{name}/evaluate", (string name) => WebErrors.Guard(async () =>
        {
            if (runs.Folder(name) is not { } dir) return NoRun(name);
            return Results.Json(await Task.Run(() => Evaluate(dir, data, options.Threads)));
        }));
    }

    private static IResult NoRun(string name) => WebErrors.NotFound($"no run '{name}' in the runs folder");

    // Test loss, accuracy and the confusion matrix of the run's checkpoint on the server's data, read as the run's config says.
    private static object Evaluate(string dir, WebData data, int threads)
    {
        var (config, error) = RunCatalog.ReadConfig(dir);
        if (config is null) throw new ArgumentException(error);
        if (!Checkpoint.Exists(dir)) throw new ArgumentException("the run has no checkpoint yet (one is written after each epoch)");
        var model = TrainedModel.Load(dir).Model;
        var split = data.Load(config.DataOptions);
        Trainer.WithData(config, split);
        using var scope = Parallelism.UseThreads(threads);
        var loader = new DataLoader(split.Test, 1000, normalize: config.Normalization);
        var result = Evaluation.Run(model, loader.Epoch(0).Select(b => (b.X, b.Y)), split.Test.NumClasses);
        return new
        {
            data = data.Description, test_loss = double.IsFinite(result.Loss) ? result.Loss : (double?)null, test_acc = result.Accuracy,
            images = result.Confusion.Total, classes = split.Test.ClassNames, matrix = result.Confusion.ToArray(),
        };
    }

    // Every line already in metrics.jsonl, then each new one as the trainer appends it, until the page goes away.
    // The stream ends when the page goes away or the server stops (else the server would wait for the page to close).
    private static async Task StreamMetrics(RunCatalog runs, string name, HttpContext context, CancellationToken stopping)
    {
        if (runs.Folder(name) is not { } dir)
        {
            await NoRun(name).ExecuteAsync(context);
            return;
        }
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        var cancel = linked.Token;
        ServerSentEvents.Start(context.Response);
        long offset = 0;
        bool? writing = null;
        try
        {
            while (!cancel.IsCancellationRequested)
            {
                var (lines, next) = RunCatalog.ReadMetrics(dir, offset);
                if (next < offset) await ServerSentEvents.Write(context.Response, "reset", "{}", cancel);
                offset = next;
                foreach (var line in lines) await ServerSentEvents.Write(context.Response, "epoch", line, cancel);
                bool now = RunFolder.IsBeingWritten(dir);
                if (now != writing)
                    await ServerSentEvents.Write(context.Response, "state", JsonSerializer.Serialize(new { writing = now }), cancel);
                writing = now;
                await Task.Delay(MetricsPoll, cancel);
            }
        }
        catch (OperationCanceledException) { }
        catch (IOException) { }   // the page went away mid-write
    }
}
