using System.CommandLine;
using System.Globalization;
using CnnLab.Data;
using CnnLab.Lab;
using CnnLab.Cli.Support;

namespace CnnLab.Cli.Commands;

/// <summary>
/// <c>cnnlab lab [--quick|--full] [--out DIR]</c> runs every experiment and writes DIR/index.html;
/// <c>cnnlab experiment NAME</c> runs one.
/// </summary>
public static class LabCommand
{
    public static Command CreateLab(TextWriter stdout, TextWriter stderr)
    {
        var (quick, full, outDir, seed, threads, only, data) = CommonOptions("lab-report");
        var command = new Command("lab", "Run every experiment of the notes and write one self-contained HTML report (DIR/index.html).")
        {
            quick, full, outDir, seed, threads, only, data,
        };
        command.SetAction(p => CliErrors.Guard(stderr, () =>
        {
            var experiments = p.GetValue(only) is string names
                ? names.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(ExperimentCatalog.Get).ToList()
                : ExperimentCatalog.All().ToList();
            return Run(experiments, p.GetValue(quick), p.GetValue(full), p.GetValue(outDir)!, p.GetValue(seed), p.GetValue(threads),
                p.GetValue(data), stdout);
        }));
        return command;
    }

    public static Command CreateExperiment(TextWriter stdout, TextWriter stderr)
    {
        var name = new Argument<string>("name")
        {
            Description = "experiment: " + string.Join(", ", ExperimentCatalog.All().Select(e => e.Name)),
        };
        var (quick, full, outDir, seed, threads, _, data) = CommonOptions("lab-report");
        var command = new Command("experiment", "Run one experiment of the lab (its results.json, figures and a report page).")
        {
            name, quick, full, outDir, seed, threads, data,
        };
        command.SetAction(p => CliErrors.Guard(stderr, () =>
            Run([ExperimentCatalog.Get(p.GetValue(name)!)], p.GetValue(quick), p.GetValue(full), p.GetValue(outDir)!, p.GetValue(seed),
                p.GetValue(threads), p.GetValue(data), stdout)));
        return command;
    }

    private static (Option<bool>, Option<bool>, Option<string>, Option<long>, Option<int>, Option<string?>, Option<string?>) CommonOptions(
        string defaultOut) =>
        (new Option<bool>("--quick") { Description = "the embedded subset and small budgets (the default; minutes)" },
         new Option<bool>("--full") { Description = "full Fashion-MNIST and larger budgets (needs the full data set)" },
         new Option<string>("--out") { Description = "output folder", DefaultValueFactory = _ => defaultOut },
         new Option<long>("--seed") { Description = "seed of every experiment", DefaultValueFactory = _ => 0 },
         new Option<int>("--threads") { Description = "CPU threads (default: all cores)", DefaultValueFactory = _ => Environment.ProcessorCount },
         new Option<string?>("--only") { Description = "comma-separated experiment names to run" },
         new Option<string?>("--data")
         {
             Description = "with --full: folder with the full data set (default: $CNNLAB_DATA, then /usr/share/datasets/fashion-mnist)",
         });

    private static int Run(IReadOnlyList<Experiment> experiments, bool quick, bool full, string outDir, long seed, int threads, string? dataDir,
        TextWriter stdout)
    {
        if (quick && full) throw new UsageException("choose one of --quick and --full");
        using var threadScope = Kernels.Parallelism.UseThreads(EvalCommand.PositiveThreads(threads));
        var mode = full ? LabMode.Full : LabMode.Quick;
        TrainTestSplit data;
        string description;
        if (mode == LabMode.Quick)
        {
            if (dataDir is not null)
                throw new UsageException("--data is for --full; --quick always uses the embedded subset so results are comparable");
            data = FashionMnist.LoadEmbeddedSubset();
            description = $"{FashionMnist.EmbeddedSource} ({data.Train.Count:N0} training / {data.Test.Count:N0} test images)";
            stdout.WriteLine($"Data: {description}. {DataSource.FullSetHint} Then run 'cnnlab lab --full'.");
        }
        else
        {
            var source = DataSource.Resolve(dataDir, Environment.GetEnvironmentVariable(DataSource.EnvironmentVariable));
            if (source.Kind == DataSourceKind.Embedded)
                throw new UsageException($"--full needs the full Fashion-MNIST. {DataSource.FullSetHint}");
            stdout.WriteLine(source.Description);
            data = source.Load();
            description = source.Description;
        }
        OutputFolder.Ensure(outDir);
        stdout.WriteLine($"Running {experiments.Count} experiment{(experiments.Count == 1 ? "" : "s")} "
            + $"({mode.ToString().ToLowerInvariant()}, seed {seed}) into {outDir}");
        var run = LabRunner.Run(experiments, outDir, data, description, mode, seed, Kernels.Parallelism.MaxThreads, stdout);
        int agree = run.Results.Count(r => r.Result?.Agrees == true);
        int failed = run.Results.Count(r => r.Result is null);
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"\n{agree} of {run.Results.Count} experiments agree with the notes{(failed > 0 ? $", {failed} failed" : "")}. "
            + $"Took {run.Manifest["seconds"]} s."));
        stdout.WriteLine($"Report: {Path.GetFullPath(run.ReportPath)}");
        return failed > 0 ? 1 : CliErrors.Ok;
    }
}
