using System.Diagnostics;
using CnnLab.Data;
using CnnLab.IO;
using CnnLab.Kernels;
using CnnLab.Training;

namespace CnnLab.Lab.Sweeps;

/// <summary>Where a sweep stands, for a progress bar.</summary>
/// <param name="CellsDone">Cells finished, those found finished in the folder included.</param>
/// <param name="CellsTotal">Cells of the sweep.</param>
/// <param name="CellsResumed">Cells found finished in the folder (not run again).</param>
/// <param name="StepsDone">Training steps done in this run.</param>
/// <param name="StepsTotal">Training steps this run has to do.</param>
/// <param name="Elapsed">Time since this run started.</param>
public sealed record SweepProgress(int CellsDone, int CellsTotal, int CellsResumed, long StepsDone, long StepsTotal, TimeSpan Elapsed)
{
    /// <summary>Time left, from the pace of this run's steps so far (null before the first step).</summary>
    public TimeSpan? Remaining => StepsDone == 0 ? null : Elapsed * ((double)(StepsTotal - StepsDone) / StepsDone);
}

/// <summary>The outcome of <see cref="SweepRunner.Run"/>.</summary>
/// <param name="Results">One per cell, in the spec's order; null for a cell not finished (the run was cancelled).</param>
/// <param name="Ran">Indices of the cells trained by this run (the others were read from the folder or not reached).</param>
public sealed record SweepOutcome(IReadOnlyList<SweepCellResult?> Results, IReadOnlyList<int> Ran)
{
    public bool Completed => Results.All(r => r is not null);
}

/// <summary>
/// Runs the cells of a sweep. With a folder, the sweep is resumable: each cell trains in <c>cells/ID/</c> (ID from
/// <see cref="SweepCell.Id"/>) and is finished when its <c>result.json</c> exists, written atomically; a rerun reads the
/// finished cells and trains the others from the start (a folder without the file was interrupted and is emptied first).
/// The folder has one writer at a time (<see cref="RunFolder"/>'s lock).
/// With <c>jobs</c> &gt; 1, cells run side by side in this process, each on one kernel thread. One cell at a time on all
/// threads is the default because side by side did not measure consistently faster on the 2-core machine (the README's
/// example: 11 s against 16–20 s in one run, 21 s against 18 s in another, under other users' load): the caching
/// allocator's lock and its forced collections are process-wide, so two training loops in one process stall each other.
/// A worker process per cell was tried and dropped: the example took 72 s against 30 s one cell at a time, each worker's
/// start-up (about 0.9 s of CPU) outweighing cells of half a second; long-lived workers taking cells in turn would not pay it.
/// Every kernel gives the same bits for any thread count, so the numbers do not depend on <c>jobs</c>.
/// </summary>
public static class SweepRunner
{
    /// <summary>The sub-folder holding one folder per cell.</summary>
    public const string CellsFolder = "cells";

    /// <summary>
    /// Trains every cell of <paramref name="spec"/> not finished yet. <paramref name="loadData"/> gives the data set a cell's
    /// <c>data</c> value names (called once per value, before any training); <paramref name="probe"/> makes one probe per cell.
    /// Cancelling stops the running cells at their next step; they leave no result. <paramref name="source"/> names the grid
    /// file in errors (the spec's name when null).
    /// </summary>
    public static SweepOutcome Run(SweepSpec spec, Func<string, TrainTestSplit> loadData, int jobs, string? folder = null,
        Func<int, ICellProbe>? probe = null, Action<SweepProgress>? progress = null, CancellationToken cancel = default, string? source = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(jobs, 1);
        var data = spec.Cells.Select(c => c.Data).Distinct().ToDictionary(d => d, d => SweepData.From(loadData(d), spec.Budget));
        // Checked before any cell trains: a sweep should not fail an hour in on a cell it could have refused at once.
        foreach (var c in spec.Cells)
            if (c.BatchSize > data[c.Data].Train.Count)
                throw new InvalidFileException(source ?? spec.Name, $"cell '{c.Describe(SweepCell.Axes)}': batch_size {c.BatchSize} is "
                    + $"larger than the {data[c.Data].Train.Count} training images of the budget");
        using var owner = folder is null ? null : RunFolder.Claim(folder);
        var results = new SweepCellResult?[spec.Cells.Count];
        var pending = new List<int>();
        for (int i = 0; i < spec.Cells.Count; i++)
        {
            string? result = folder is null ? null : ResultPath(folder, spec, i);
            if (result is not null && File.Exists(result)) results[i] = SweepCellResult.Read(result, spec.Cells[i], spec.Budget);
            else pending.Add(i);
        }
        int resumed = spec.Cells.Count - pending.Count, done = resumed;
        long stepsDone = 0, stepsTotal = (long)pending.Count * spec.Budget.Steps;
        var clock = Stopwatch.StartNew();
        var gate = new Lock();
        void Report()
        {
            lock (gate) progress?.Invoke(new SweepProgress(done, spec.Cells.Count, resumed, stepsDone, stepsTotal, clock.Elapsed));
        }
        Report();
        var ran = new List<int>();
        void RunCell(int i)
        {
            cancel.ThrowIfCancellationRequested();
            string? dir = folder is null ? null : Path.Combine(folder, CellsFolder, spec.Cells[i].Id(spec.Budget));
            if (dir is not null)
            {
                if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);   // an interrupted cell starts over
                Directory.CreateDirectory(dir);
                File.WriteAllText(Path.Combine(dir, "cell.json"), spec.Cells[i].ToJson().ToJsonString(LabJson.Options));
            }
            int taken = 0;
            var r = SweepCellRunner.Run(spec.Cells[i], spec.Budget, data[spec.Cells[i].Data], probe?.Invoke(i), _ =>
            {
                cancel.ThrowIfCancellationRequested();
                bool report;
                lock (gate) report = ++stepsDone % 10 == 0;
                taken++;
                if (report) Report();
            });
            if (dir is not null) AtomicFile.WriteAllText(Path.Combine(dir, SweepCellResult.FileName), r.ToJson(spec.Budget));
            lock (gate)
            {
                results[i] = r;
                ran.Add(i);
                done++;
                // Steps a diverged cell did not take count as done, so the time left stays honest.
                stepsDone += spec.Budget.Steps - taken;
            }
            Report();
        }
        try
        {
            int workers = Math.Min(jobs, pending.Count);
            if (workers <= 1) foreach (int i in pending) RunCell(i);
            else
            {
                using var oneThreadEach = Parallelism.UseThreads(1);
                Parallel.ForEach(pending, new ParallelOptions { MaxDegreeOfParallelism = workers }, RunCell);
            }
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested) { }
        catch (AggregateException e) when (e.InnerExceptions.All(x => x is OperationCanceledException) && cancel.IsCancellationRequested) { }
        catch (AggregateException e)
        {
            // The first real failure, as itself: a bad data folder is the user's error, not an aggregate.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions.First(x => x is not OperationCanceledException)).Throw();
        }
        ran.Sort();
        return new SweepOutcome(results, ran);
    }

    /// <summary>The result file of cell <paramref name="index"/> in <paramref name="folder"/>.</summary>
    public static string ResultPath(string folder, SweepSpec spec, int index) =>
        Path.Combine(folder, CellsFolder, spec.Cells[index].Id(spec.Budget), SweepCellResult.FileName);
}
