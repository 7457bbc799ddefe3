using System.CommandLine;
using CnnLab.Data;
using CnnLab.Cli.Support;
using CnnLab.Web;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace CnnLab.Cli.Commands;

/// <summary>
/// <c>cnnlab serve</c>: the lab in the browser (CnnLab.Web): runs, Playground, Explainer and report on a local server, behind
/// a random access token printed in its URL. Ctrl-C stops it after the running jobs have saved their checkpoints.
/// </summary>
public static class ServeCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var port = new Option<int>("--port") { Description = "TCP port (0: any free port)", DefaultValueFactory = _ => 8080 };
        var runs = new Option<string>("--runs")
        {
            Description = "folder of run folders to show; the Playground writes its runs there", DefaultValueFactory = _ => "runs",
        };
        var host = new Option<string>("--host")
        {
            Description = "address to listen on (default 127.0.0.1: this machine only; anything else is reachable by others, with a warning)",
            DefaultValueFactory = _ => "127.0.0.1",
        };
        var jobs = new Option<int>("--jobs") { Description = "training jobs that run at once; the others queue", DefaultValueFactory = _ => 1 };
        var threads = new Option<int>("--threads")
        {
            Description = "CPU threads per training job and evaluation (default: all cores)", DefaultValueFactory = _ => Environment.ProcessorCount,
        };
        var report = new Option<string>("--report")
        {
            Description = "the lab report folder served under /report/ (cnnlab lab --out DIR)", DefaultValueFactory = _ => "lab-report",
        };
        var data = new DataOptions(preprocessing: false);
        var command = new Command("serve", "Open the lab in your browser: runs with live curves, a training Playground, an Explainer, the report.")
        {
            port, runs, host, jobs, threads, report,
        };
        foreach (var option in data.All) command.Options.Add(option);
        command.SetAction(p => CliErrors.Guard(stderr, () =>
        {
            var options = new ServeOptions
            {
                RunsDirectory = p.GetValue(runs)!, Token = ServeOptions.NewToken(), Host = p.GetValue(host)!.Trim(), Port = p.GetValue(port),
                Jobs = p.GetValue(jobs), Threads = p.GetValue(threads), ReportDirectory = p.GetValue(report),
            };
            options.Validate();
            OutputFolder.Ensure(options.RunsDirectory);
            string? dir = p.GetValue(data.Data);
            if (dir is not null && !Directory.Exists(dir)) throw new UsageException($"--data: folder '{dir}' does not exist");
            var source = DataSource.Resolve(dir, Environment.GetEnvironmentVariable(DataSource.EnvironmentVariable));
            // Data is read when a job or evaluation first needs it, as the run's config asks; the server starts at once.
            var webData = new WebData(source.Description, o => data.Load(p, o, stdout).Data);
            return Serve(options, webData, stdout, stderr);
        }));
        return command;
    }

    private static int Serve(ServeOptions options, WebData data, TextWriter stdout, TextWriter stderr)
    {
        using var app = WebServer.Build(options, data);
        try { app.StartAsync().GetAwaiter().GetResult(); }
        catch (IOException e) { throw new UsageException($"--port {options.Port}: cannot listen on {options.ListenUrl}: {e.Message}"); }
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        int actualPort = new Uri(address).Port;
        string shown = options.IsWildcard ? "localhost"
            : options.Host.Contains(':') && !options.Host.StartsWith('[') ? $"[{options.Host}]" : options.Host;
        if (!options.IsLoopback)
            stderr.WriteLine($"cnnlab: warning: listening on {options.Host}, reachable from other machines; anyone with the token can train "
                + "and read your runs (the default, 127.0.0.1, keeps it to this machine)");
        stdout.WriteLine(data.Description);
        stdout.WriteLine($"Runs: {Path.GetFullPath(options.RunsDirectory)}");
        stdout.WriteLine($"CnnLab is at http://{shown}:{actualPort}/?token={options.Token}");
        stdout.WriteLine("Open that URL in a browser (the token is required on every request). Ctrl-C stops the server.");
        // The host's console lifetime turns Ctrl-C (and SIGTERM) into ApplicationStopping; WaitForShutdown then stops the
        // job queue first, which cancels the jobs and waits for their checkpoints, and the web server after it.
        app.Lifetime.ApplicationStopping.Register(() => stdout.WriteLine("Stopping: running jobs save their checkpoints…"));
        app.WaitForShutdown();
        return CliErrors.Ok;
    }
}
