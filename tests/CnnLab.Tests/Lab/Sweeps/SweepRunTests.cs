using System.Diagnostics;
using CnnLab.Data;
using CnnLab.Lab.Sweeps;
using Xunit;

namespace CnnLab.Tests;

public class SweepRunTests
{
    private static readonly Lazy<TrainTestSplit> Subset = new(FashionMnist.LoadEmbeddedSubset);

    private static string Example => Path.Combine(RepoRoot(), "examples", "sweeps", "optimizers-lenet5.json");

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "CnnLab.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"no CnnLab.slnx above {AppContext.BaseDirectory}");
    }

    private const string TinyGrid = """
        { "name": "tiny", "budget": { "steps": 30, "checkpoints": 2, "train_images": 256, "test_images": 100 },
          "fixed": { "model": "lenet5", "batch_size": 32, "optimizer": "adam" },
          "grid": { "lr": [0.001, 0.003, 0.01, 0.03], "seed": [0, 1] } }
        """;

    [Fact]
    public async Task ReadmeExample_RunsOnASmallBudget_AndItsReportOpensInChromiumWithEveryFigure()
    {
        var full = SweepFile.Load(Example);
        Assert.Equal(18, full.Cells.Count);                                  // 2 optimizers × 3 lrs × 3 seeds
        Assert.Equal(["optimizer", "lr"], full.Factors);
        var spec = full with { Budget = full.Budget with { Steps = 12, Checkpoints = 2, TrainImages = 512, TestImages = 200 } };
        var dir = TinyData.TempDir("sweep-example");
        var outcome = SweepRunner.Run(spec, _ => Subset.Value, jobs: 1, folder: dir);
        Assert.True(outcome.Completed);
        var report = SweepReport.Write(spec, outcome.Results.Select(r => r!).ToList(), dir);
        var html = File.ReadAllText(report);
        Assert.DoesNotContain("<script", html);
        Assert.Contains("Welch", html);
        var probe = await HeadlessChromium.Open(report, dir);
        // one heatmap (optimizer × lr), the mean test-accuracy curves, the loss curves of each of the 6 configurations
        Assert.Equal(8, probe.Images);
        Assert.Equal(8, probe.Loaded);
        Assert.Equal(["statement", "ranking", "figures", "cells"], probe.Sections);
        Assert.True(File.Exists(Path.Combine(dir, "results.json")));
    }

    [Fact]
    public void CancelledAtACellBoundary_WithAHalfWrittenCell_TheRerunTrainsOnlyTheMissingCells_AndGivesTheSameNumbers()
    {
        var dir = TinyData.TempDir("sweep-resume");
        var grid = Path.Combine(dir, "grid.json");
        File.WriteAllText(grid, TinyGrid);
        var spec = SweepFile.Load(grid);
        var outDir = Path.Combine(dir, "out");
        using var cts = new CancellationTokenSource();
        var first = SweepRunner.Run(spec, _ => Subset.Value, jobs: 1, folder: outDir,
            progress: p => { if (p.CellsDone >= 3) cts.Cancel(); }, cancel: cts.Token);
        Assert.False(first.Completed);
        Assert.Equal([0, 1, 2], first.Ran);
        var kept = Enumerable.Range(0, 3).Select(i => File.ReadAllBytes(SweepRunner.ResultPath(outDir, spec, i))).ToArray();
        // A cell killed mid-way: its folder exists with partial files but no result.json.
        var half = Path.GetDirectoryName(SweepRunner.ResultPath(outDir, spec, 5))!;
        Directory.CreateDirectory(half);
        File.WriteAllText(Path.Combine(half, "cell.json"), "{}");
        File.WriteAllText(Path.Combine(half, ".result.json.123.tmp"), "{\"cell\":");

        var r = Cli.Run("sweep", grid, "--out", outDir);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("Trained 5 cells, kept 3 from an earlier run.", r.Stdout);
        for (int i = 0; i < 3; i++) Assert.Equal(kept[i], File.ReadAllBytes(SweepRunner.ResultPath(outDir, spec, i)));
        Assert.False(File.Exists(Path.Combine(half, ".result.json.123.tmp")));
        Assert.True(File.Exists(Path.Combine(outDir, "index.html")));

        var uninterrupted = SweepRunner.Run(spec, _ => Subset.Value, jobs: 1);
        for (int i = 0; i < spec.Cells.Count; i++)
        {
            var resumed = SweepCellResult.Read(SweepRunner.ResultPath(outDir, spec, i), spec.Cells[i], spec.Budget);
            Assert.Equal(uninterrupted.Results[i]!.TestCurve, resumed.TestCurve);
            Assert.Equal(uninterrupted.Results[i]!.Losses, resumed.Losses);
        }
        var again = Cli.Run("sweep", grid, "--out", outDir);
        Assert.Contains("Trained 0 cells, kept 8 from an earlier run.", again.Stdout);
    }

    [Fact]
    public void SideBySideCells_GiveTheSameBitsAsOneAtATime()
    {
        var spec = SweepFile.Parse(TinyGrid, "tiny.json");
        var one = SweepRunner.Run(spec, _ => Subset.Value, jobs: 1);
        var two = SweepRunner.Run(spec, _ => Subset.Value, jobs: 2);
        for (int i = 0; i < spec.Cells.Count; i++) Assert.Equal(one.Results[i]!.Losses, two.Results[i]!.Losses);
    }

    [Fact]
    public void AKilledSweepProcess_IsFinishedByARerun_WhichTrainsOnlyTheMissingCells()
    {
        var cli = Path.Combine(AppContext.BaseDirectory, "cnnlab.dll");
        Assert.True(File.Exists(cli), $"{cli} not found (the test project references CnnLab.Cli)");
        var dir = TinyData.TempDir("sweep-kill");
        var grid = Path.Combine(dir, "grid.json");
        File.WriteAllText(grid, TinyGrid.Replace("\"steps\": 30", "\"steps\": 60", StringComparison.Ordinal));
        var spec = SweepFile.Load(grid);
        var outDir = Path.Combine(dir, "out");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { cli, "sweep", grid, "--out", outDir, "--threads", "1" }) psi.ArgumentList.Add(a);
        int Finished() => Enumerable.Range(0, spec.Cells.Count).Count(i => File.Exists(SweepRunner.ResultPath(outDir, spec, i)));
        using (var p = Process.Start(psi)!)
        {
            p.OutputDataReceived += (_, _) => { };
            p.ErrorDataReceived += (_, _) => { };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            var clock = Stopwatch.StartNew();
            while (Finished() < 2 && !p.HasExited && clock.Elapsed < TimeSpan.FromMinutes(3)) Thread.Sleep(10);
            p.Kill();   // SIGKILL: no chance to tidy up
            p.WaitForExit();
        }
        int kept = Finished();
        Assert.InRange(kept, 2, spec.Cells.Count - 1);
        var r = Cli.Run("sweep", grid, "--out", outDir);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains($"Trained {spec.Cells.Count - kept} cells, kept {kept} from an earlier run.", r.Stdout);
    }
}
