using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.StaticFiles;

namespace CnnLab.Web;

/// <summary>
/// The lab's report folder (<c>cnnlab lab --out DIR</c>) served under /report/ when it holds an index.html; looked for on each
/// request, so a report written while the server runs appears. A path is resolved inside the folder or refused. One experiment
/// at a time can be re-run from the page with its quick budget (<see cref="ReportRerun"/>), its progress as events.
/// </summary>
internal static class ReportEndpoints
{
    public static void Map(WebApplication app, ServeOptions options)
    {
        var rerun = new ReportRerun();
        app.MapGet("/api/report/experiments", () => Results.Json(new
        {
            experiments = options.Experiments().Select(e => new { name = e.Name, title = e.Title, topic = e.Topic }),
            rerun = rerun.Status,
        }));
        app.MapPost("/api/report/experiments/{name}/rerun", (string name) => WebErrors.Guard(() =>
        {
            var all = options.Experiments();
            if (all.FirstOrDefault(e => e.Name == name) is not { } experiment)
                return WebErrors.BadRequest($"unknown experiment '{name}': expected one of {string.Join(", ", all.Select(e => e.Name))}");
            if (options.ReportDirectory is null) return WebErrors.BadRequest("no report folder: start cnnlab serve with --report DIR");
            Directory.CreateDirectory(options.ReportDirectory);
            if (!rerun.TryStart(experiment, options.ReportDirectory, options.Threads, out var status))
                return WebErrors.Text(StatusCodes.Status409Conflict,
                    $"an experiment is already being re-run ({JsonSerializer.Serialize(status)}): one at a time");
            return Results.Json(status, statusCode: StatusCodes.Status202Accepted);
        }));
        app.MapGet("/api/report/rerun/events", async (HttpContext context) =>
        {
            if (rerun.Events is not { } events)
            {
                await WebErrors.NotFound("no experiment has been re-run on this server").ExecuteAsync(context);
                return;
            }
            ServerSentEvents.Start(context.Response);
            try
            {
                await foreach (var e in events.ReadAll(context.RequestAborted))
                    await ServerSentEvents.Write(context.Response, e.Name, e.Json, context.RequestAborted);
            }
            catch (OperationCanceledException) { }   // the page went away: the experiment goes on
            catch (IOException) { }
        });
        app.MapGet("/report", () => Results.Redirect("/report/index.html"));
        app.MapGet("/report/{**path}", (string? path) =>
        {
            if (options.ReportDirectory is null) return WebErrors.NotFound("no report folder: start cnnlab serve with --report DIR");
            string root = Path.GetFullPath(options.ReportDirectory);
            if (!File.Exists(Path.Combine(root, "index.html")))
            {
                string dir = options.ReportDirectory;
                return WebErrors.NotFound($"no lab report in '{dir}': write one with 'cnnlab lab --out {dir}'");
            }
            string full = Path.GetFullPath(Path.Combine(root, string.IsNullOrEmpty(path) ? "index.html" : path));
            if (!full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal) || !File.Exists(full))
                return WebErrors.NotFound($"the report has no file '{path}'");
            new FileExtensionContentTypeProvider().TryGetContentType(full, out var type);
            return Results.File(full, type ?? "application/octet-stream");
        });
    }

    /// <summary>True when <paramref name="options"/> name a report folder with an index.html.</summary>
    public static bool Present(ServeOptions options) =>
        options.ReportDirectory is not null && File.Exists(Path.Combine(options.ReportDirectory, "index.html"));
}
