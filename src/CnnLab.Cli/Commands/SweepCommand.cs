using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using CnnLab.Cli.Support;
using CnnLab.Data;
using CnnLab.Lab.Sweeps;

namespace CnnLab.Cli.Commands;

/// <summary>
/// <c>cnnlab sweep GRID.json [--out DIR] [--jobs N]</c>: trains every cell of a grid file (<see cref="SweepFile"/>), side by
/// side, keeping each finished cell in DIR/cells/ so that a rerun after Ctrl-C or a crash trains only the missing ones, then
/// writes DIR/index.html (<see cref="SweepReport"/>).
/// </summary>
public static class SweepCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var grid = new Argument<string>("grid") { Description = "the grid file (JSON; see examples/sweeps/)" };
        var outDir = new Option<string?>("--out") { Description = "output folder (default: sweep-GRIDNAME); a rerun resumes it" };
        var jobs = new Option<int>("--jobs")
        {
            Description = "cells trained side by side in this process, one thread each (default 1: one cell at a time on --threads, "
                + "measured faster here)",
            DefaultValueFactory = _ => 1,
        };
        var threads = new Option<int>("--threads")
        {
            Description = "CPU threads of a cell when --jobs is 1 (default: all cores)", DefaultValueFactory = _ => Environment.ProcessorCount,
        };
        var command = new Command("sweep", "Train every cell of a grid (models, inits, optimizers, lrs, decay, pooling, seeds, data) "
            + "and write one HTML report with mean ± 95% intervals over seeds and which differences exceed the seed noise.")
        {
            grid, outDir, jobs, threads,
        };
        command.SetAction(p => CliErrors.Guard(stderr, () =>
            Run(p.GetValue(grid)!, p.GetValue(outDir), p.GetValue(jobs), p.GetValue(threads), stdout, stderr)));
        return command;
    }

    private static int Run(string gridPath, string? outDir, int jobs, int threads, TextWriter stdout, TextWriter stderr)
    {
        if (jobs < 1 || jobs > Kernels.Parallelism.MaxThreadsLimit)
            throw new UsageException($"--jobs must be between 1 and {Kernels.Parallelism.MaxThreadsLimit}, got {jobs}");
        using var threadScope = Kernels.Parallelism.UseThreads(EvalCommand.PositiveThreads(threads));
        var spec = SweepFile.Load(gridPath);
        outDir ??= "sweep-" + Path.GetFileNameWithoutExtension(gridPath);
        OutputFolder.Ensure(outDir);
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Sweep '{spec.Name}': {spec.Cells.Count} cells ({string.Join(" × ", spec.Factors.Append("seed").Select(Count(spec)))}), "
            + $"{spec.Budget.Steps} steps each, {Math.Min(jobs, spec.Cells.Count)} side by side, into {outDir}"));
        using var cts = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx =>
        {
            ctx.Cancel = true;
            cts.Cancel();
        });
        var bar = new ProgressBar(stdout, ProgressBar.IsTerminal);
        var outcome = SweepRunner.Run(spec, value =>
        {
            TrainTestSplit split;
            try { split = SweepData.Load(value); }
            catch (Exception e) when (e is IOException or ArgumentException)
            {
                throw new IO.InvalidFileException(gridPath, $"field 'data': '{value}': {e.Message}", e);
            }
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Data '{value}': {split.Train.Count:N0} training / {split.Test.Count:N0} test images"));
            return split;
        }, jobs, outDir, progress: p =>
        {
            string resumed = p.CellsResumed > 0 ? $", {p.CellsResumed} kept from an earlier run" : "";
            double fraction = p.StepsTotal == 0 ? 1 : (double)p.StepsDone / p.StepsTotal;
            bar.ReportItems("cells", p.CellsDone, p.CellsTotal, fraction, $"{fraction * 100:0}% of the steps{resumed}", p.Remaining);
        }, cancel: cts.Token, source: gridPath);
        int finished = outcome.Results.Count(r => r is not null);
        if (!outcome.Completed)
        {
            stderr.WriteLine($"\nInterrupted: {finished} of {spec.Cells.Count} cells finished and kept in {outDir}. "
                + $"Run the same command again to train the other {spec.Cells.Count - finished}.");
            return CliErrors.Interrupted;
        }
        var report = SweepReport.Write(spec, outcome.Results.Select(r => r!).ToList(), outDir);
        stdout.WriteLine($"\nTrained {outcome.Ran.Count} cells, kept {spec.Cells.Count - outcome.Ran.Count} from an earlier run.");
        stdout.WriteLine(SweepSummary.Of(spec, outcome.Results.Select(r => r!).ToList()).Statement);
        stdout.WriteLine($"Report: {Path.GetFullPath(report)}");
        return CliErrors.Ok;
    }

    private static Func<string, string> Count(SweepSpec spec) =>
        axis => $"{axis} {spec.Cells.Select(c => c.Value(axis)).Distinct().Count()}";
}
