using System.Globalization;
using System.Text.Json;
using CnnLab.Data;
using CnnLab.Training;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace CnnLab.Web;

/// <summary>
/// The Playground's API: start a training job (checked with the CLI's rules before it is queued: a bad value is 400 with the
/// CLI's message), list the jobs, follow one job's events, stop one, pause one (a checkpoint, as Stop) and resume it (the same
/// run folder and event stream, from the saved step). Closing a page only ends its event stream.
/// </summary>
internal static class JobEndpoints
{
    // A form of a dozen fields and at most a spec's text (PlaygroundRequest.MaxSpecBytes): a larger body is not one.
    private const int MaxBody = 2 * PlaygroundRequest.MaxSpecBytes;

    public static void Map(WebApplication app, JobQueue queue, RunCatalog runs, WebData data, ServeOptions options)
    {
        app.MapGet("/api/jobs", () => Results.Json(queue.Jobs.Select(j => j.Describe()).ToArray()));
        app.MapPost("/api/jobs", (HttpRequest request, CancellationToken cancel) => WebErrors.Guard(async () =>
        {
            if (request.ContentLength > MaxBody) return WebErrors.BadRequest($"the request body is over {MaxBody} bytes");
            var body = await JsonSerializer.DeserializeAsync<JsonElement>(request.Body, cancellationToken: cancel);
            var config = PlaygroundRequest.Parse(body, options.Threads);
            var job = await Task.Run(() => Create(config, queue, runs, data));
            queue.Submit(job);
            return Results.Json(job.Describe(), statusCode: StatusCodes.Status201Created);
        }));
        app.MapGet("/api/jobs/{id:int}/events", (int id, HttpContext context) => StreamEvents(queue, id, context));
        app.MapPost("/api/jobs/{id:int}/stop", (int id) =>
        {
            if (queue.Find(id) is not { } job) return NoJob(id);
            queue.Stop(job);
            return Results.Json(job.Describe());
        });
        app.MapPost("/api/jobs/{id:int}/pause", (int id) =>
        {
            if (queue.Find(id) is not { } job) return NoJob(id);
            if (job.State != JobState.Running) return Conflict(job, "pause", "it is not running");
            job.Pause();
            return Results.Json(job.Describe());
        });
        app.MapPost("/api/jobs/{id:int}/resume", (int id) => WebErrors.Guard(async () =>
        {
            if (queue.Find(id) is not { } job) return NoJob(id);
            if (!job.TryBeginResume()) return Conflict(job, "resume", "it is not paused");
            try
            {
                var (trainer, layers) = await Task.Run(() => Continue(job, runs, data));
                if (job.State != JobState.Paused) return Conflict(job, "resume", "it is not paused");
                job.Continue(trainer, layers);
                queue.Requeue(job);
                return Results.Json(job.Describe());
            }
            finally
            {
                job.EndResume();
            }
        }));
    }

    private static IResult Conflict(TrainingJob job, string action, string why) =>
        WebErrors.Text(StatusCodes.Status409Conflict, $"cannot {action} job {job.Id}: {why} (it is {job.State.ToString().ToLowerInvariant()})");

    // The paused job's run folder, loaded as `cnnlab train --resume` does: its checkpoint's weights, optimizer state and step.
    private static (Trainer, LayerMonitor) Continue(TrainingJob job, RunCatalog runs, WebData data)
    {
        var split = data.Load(DatasetOptions.Default with { Seed = job.Config.Seed });
        var trainer = Trainer.Resume(Path.Combine(runs.Root, job.RunName), split);
        return (trainer, new LayerMonitor(trainer.Model, split.Test, trainer.Config.Normalization));
    }

    private static IResult NoJob(int id) => WebErrors.NotFound($"no job {id} on this server");

    // The Trainer is built here, before the job is queued, so that every error its constructor finds (the model against the
    // data, the batch against the activation budget) is the request's 400 rather than a failed job later.
    private static TrainingJob Create(TrainingConfig config, JobQueue queue, RunCatalog runs, WebData data)
    {
        var split = data.Load(DatasetOptions.Default with { Seed = config.Seed });
        int id = queue.NextId();
        string name = string.Create(CultureInfo.InvariantCulture, $"play-{DateTime.Now:yyyyMMdd-HHmmss}-{id}");
        var trainer = new Trainer(config with { Data = data.Description }, split, Path.Combine(runs.Root, name));
        return new TrainingJob(id, name, trainer, new LayerMonitor(trainer.Model, split.Test, trainer.Config.Normalization));
    }

    private static async Task StreamEvents(JobQueue queue, int id, HttpContext context)
    {
        if (queue.Find(id) is not { } job)
        {
            await NoJob(id).ExecuteAsync(context);
            return;
        }
        ServerSentEvents.Start(context.Response);
        try
        {
            await foreach (var e in job.Events.ReadAll(context.RequestAborted))
                await ServerSentEvents.Write(context.Response, e.Name, e.Json, context.RequestAborted);
        }
        catch (OperationCanceledException) { }   // the page went away: the job goes on
        catch (IOException) { }
    }
}
