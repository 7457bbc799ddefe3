using CnnLab.Init.Networks;
using CnnLab.Nn.Models;
using CnnLab.Training;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CnnLab.Web;

/// <summary>
/// The <c>cnnlab serve</c> application: the access gate in front of everything, then the pages (embedded), the Runs,
/// Playground, Explainer and Report APIs. The CLI builds it, starts it and prints its URL; tests build it on a test server.
/// </summary>
public static class WebServer
{
    /// <summary>
    /// Builds the app for <paramref name="options"/>, training and evaluating on <paramref name="data"/>.
    /// <paramref name="configure"/> may change the host before it is built (tests swap in a test server).
    /// </summary>
    public static WebApplication Build(ServeOptions options, WebData data, Action<WebApplicationBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(data);
        options.Validate();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = typeof(WebServer).Assembly.GetName().Name });
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(options.ListenUrl);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = options.MaxUploadBytes + 64 * 1024);
        builder.Services.Configure<FormOptions>(f => f.MultipartBodyLengthLimit = options.MaxUploadBytes + 64 * 1024);
        // Jobs write their checkpoints on shutdown: the host waits for them instead of its default 30 seconds.
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = TimeSpan.FromMinutes(5));
        var queue = new JobQueue(options);
        builder.Services.AddSingleton(queue);
        builder.Services.AddHostedService(_ => queue);
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseMiddleware<AccessGate>(options);
        var runs = new RunCatalog(options);
        string work = Path.Combine(Path.GetTempPath(), $"cnnlab-serve-{Environment.ProcessId}-{ServeOptions.NewToken()[..8]}");
        app.Lifetime.ApplicationStopped.Register(() =>
        {
            try { if (Directory.Exists(work)) Directory.Delete(work, recursive: true); }
            catch (IOException) { }
        });
        EmbeddedAssets.Map(app);
        app.MapGet("/api/info", () => Microsoft.AspNetCore.Http.Results.Json(new
        {
            data = data.Description, runs = runs.Root, jobs = options.Jobs, threads = options.Threads, report = ReportEndpoints.Present(options),
            models = ModelZoo.Catalog.Select(c => c.Name), inits = InitScheme.ValidNames, optimizers = OptimizerFactory.Optimizers,
            schedules = OptimizerFactory.Schedules, pools = new[] { "max", "avg", "conv" }, relu_orders = new[] { "before-pool", "after-pool" },
            defaults = System.Text.Json.Nodes.JsonNode.Parse(new TrainingConfig().ToJson()), max_upload_bytes = options.MaxUploadBytes,
        }));
        RunEndpoints.Map(app, runs, data, options);
        JobEndpoints.Map(app, queue, runs, data, options);
        new ExplainEndpoints(Path.Combine(work, "explain")).Map(app, runs, options);
        ReportEndpoints.Map(app, options);
        return app;
    }
}
