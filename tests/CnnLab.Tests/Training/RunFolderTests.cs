using System.Diagnostics;
using CnnLab.IO;
using CnnLab.Training;
using Xunit;

namespace CnnLab.Tests.Training;

/// <summary>
/// The run folder has one owner: a second writer is refused while a real <c>cnnlab train</c> process holds it, readers
/// load consistent checkpoints while it saves and change nothing, and a new run never writes over another run's files.
/// </summary>
[Collection("cli")]
public class RunFolderTests
{
    private static readonly Lazy<string> Data = new(() => TinyData.Folder(64, 32));

    private static string CliDll => Path.Combine(AppContext.BaseDirectory, "cnnlab.dll");

    private static string[] Train(string outDir, int epochs, params string[] extra) =>
        ["train", "--model", "lenet5", "--batch-size", "32", "--threads", "1", "--epochs", epochs.ToString(),
         "--data", Data.Value, "--out", outDir, "--json", .. extra];

    private static Process StartCli(string[] args, System.Text.StringBuilder? errors = null)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(CliDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null && errors is not null) lock (errors) errors.AppendLine(e.Data);
        };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    private static bool WaitUntil(Func<bool> condition, Process p, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (p.HasExited || clock.Elapsed > limit) return false;
            Thread.Sleep(10);
        }
        return true;
    }

    [Fact]
    public void ASecondWriterIsRefusedWhileAnotherProcessTrains()
    {
        var dir = TinyData.TempDir("owner");
        using var writer = StartCli(Train(dir, 400));
        try
        {
            Assert.True(WaitUntil(() => RunFolder.IsBeingWritten(dir), writer, TimeSpan.FromSeconds(60)), "the writer never took the lock");
            var second = Cli.Run(Train(dir, 1, "--overwrite"));
            Assert.Equal(2, second.ExitCode);
            var error = second.Stderr.Trim().Split('\n')[^1];
            Assert.StartsWith("cnnlab: ", error);
            Assert.Contains("another cnnlab process is writing", error);
            var resumed = Cli.Run("train", "--resume", dir, "--data", Data.Value);
            Assert.True(resumed.ExitCode == 2 || !RunFolder.IsBeingWritten(dir), resumed.Stderr);
        }
        finally
        {
            writer.Kill();
            writer.WaitForExit();
        }
        Assert.False(RunFolder.IsBeingWritten(dir));   // a killed writer leaves no lock behind
    }

    [Fact]
    public void ReadersLoadWholeCheckpointsWhileAWriterSavesAndChangeNothing()
    {
        var dir = TinyData.TempDir("readers");
        // 2 steps an epoch and a save after each: many commits for the readers to meet.
        var errors = new System.Text.StringBuilder();
        using var writer = StartCli(Train(dir, 60), errors);
        int loads = 0;
        try
        {
            Assert.True(WaitUntil(() => Checkpoint.Exists(dir), writer, TimeSpan.FromSeconds(60)), "no checkpoint appeared");
            while (!writer.HasExited)
            {
                Checkpoint.Contents c;
                try { c = Checkpoint.Load(dir); }
                catch (InvalidFileException e)
                {
                    Thread.Sleep(200);
                    lock (errors) Assert.Fail($"{e.Message}; writer exited: {writer.HasExited}; its stderr: {errors}");
                    throw;
                }
                Assert.Equal(2L * c.State.Epoch + c.State.BatchInEpoch, c.State.Step);
                Assert.NotNull(c.State.Commit);
                loads++;
            }
        }
        finally
        {
            if (!writer.HasExited) writer.Kill();
            writer.WaitForExit();
        }
        lock (errors) Assert.True(writer.ExitCode == 0, errors.ToString());   // it never found a temporary gone
        Assert.True(loads > 0);
        Assert.Equal(120, Checkpoint.Load(dir).State.Step);
        Assert.Equal(60, File.ReadAllLines(Path.Combine(dir, RunFolder.MetricsFile)).Length);
    }

    [Fact]
    public void ANewRunRefusesAnotherRunsFolderUnlessToldToReplaceIt()
    {
        var dir = TinyData.TempDir("refuse");
        Assert.Equal(0, Cli.Run(Train(dir, 1)).ExitCode);
        var metrics = File.ReadAllText(Path.Combine(dir, RunFolder.MetricsFile));
        var again = Cli.Run(Train(dir, 2, "--seed", "5"));
        Assert.Equal(2, again.ExitCode);
        Assert.Contains("holds another run", again.Stderr);
        Assert.Contains("--overwrite", again.Stderr);
        Assert.Equal(metrics, File.ReadAllText(Path.Combine(dir, RunFolder.MetricsFile)));   // nothing of it was touched
        Assert.Equal(2, Checkpoint.Load(dir).State.Step);
        var replaced = Cli.Run(Train(dir, 2, "--seed", "5", "--overwrite"));
        Assert.True(replaced.ExitCode == 0, replaced.Stderr);
        Assert.Equal(4, Checkpoint.Load(dir).State.Step);
        Assert.Equal(2, File.ReadAllLines(Path.Combine(dir, RunFolder.MetricsFile)).Length);
    }

    [Fact]
    public void ResumingIntoAnotherOptimizerIsRefused()
    {
        var dir = TinyData.TempDir("optimizer-swap");
        Assert.Equal(0, Cli.Run(Train(dir, 1, "--optimizer", "sgd")).ExitCode);
        var configPath = Path.Combine(dir, Checkpoint.ConfigFile);
        File.WriteAllText(configPath, File.ReadAllText(configPath).Replace("\"sgd\"", "\"adamw\""));
        var r = Cli.Run("train", "--resume", dir, "--data", Data.Value);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("optimizer.safetensors: holds SGD state but config.json asks for AdamW", r.Stderr);
    }

    [Fact]
    public void AJournalNamingAFileOutsideTheCheckpointIsRefused()
    {
        var dir = TinyData.TempDir("journal");
        Assert.Equal(0, Cli.Run(Train(dir, 1)).ExitCode);
        File.WriteAllText(Path.Combine(dir, ".commit.json"), "{\"../x.tmp\": \"model.safetensors\"}");
        Assert.Throws<InvalidFileException>(() => Checkpoint.Load(dir));
    }

    [Fact]
    public void ARunFromAJsonSpecCarriesItsSpec()
    {
        var specDir = TinyData.TempDir("spec-run");
        var spec = Path.Combine(specDir, "net.json");
        File.WriteAllText(spec, """{"layers": [{"type": "flatten"}, {"type": "linear", "out_features": 10}]}""");
        var dir = TinyData.TempDir("spec-out");
        Assert.Equal(0, Cli.Run(Train(dir, 1).Select(a => a == "lenet5" ? spec : a).ToArray()).ExitCode);
        File.Delete(spec);   // the checkpoint no longer needs the file, from any folder
        var eval = Cli.Run("eval", "--checkpoint", dir, "--data", Data.Value);
        Assert.True(eval.ExitCode == 0, eval.Stderr);
    }

    [Fact]
    public void AZooNameIsTheZoosModelEvenBesideAFileOfThatName()
    {
        var dir = TinyData.TempDir("shadow");
        var file = Path.Combine(dir, "lenet5");
        File.WriteAllText(file, "not a spec");
        Assert.False(Trainer.IsSpecFile("lenet5"));
        Assert.True(Trainer.IsSpecFile(file));
    }

    [Fact]
    public void AResumedRunAtItsMaxStepsTakesNoMoreSteps()
    {
        var dir = TinyData.TempDir("max-steps");
        Assert.Equal(0, Cli.Run(Train(dir, 3, "--max-steps", "3")).ExitCode);
        Assert.Equal(3, Checkpoint.Load(dir).State.Step);
        var resumed = Cli.Run("train", "--resume", dir, "--data", Data.Value);
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Equal(3, Checkpoint.Load(dir).State.Step);
    }
}
