using System.Diagnostics;
using System.Security.Cryptography;
using CnnLab.Training;
using Xunit;
using Xunit.Abstractions;

namespace CnnLab.Tests;

/// <summary>
/// Nothing is lost when training dies: a real <c>cnnlab train</c> child process is SIGKILLed at seeded
/// random moments (at least 20 times, in about 40 s), the checkpoint folder must load after every
/// kill, and resuming to the end must give weights byte-identical (SHA-256) to an uninterrupted run.
/// </summary>
[Trait("Category", "Kill")]
[Collection("kill")]
public class KillTests(ITestOutputHelper output)
{
    private const int Kills = 20;
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(120);

    private static string Cli => Path.Combine(AppContext.BaseDirectory, "cnnlab.dll");

    private static string[] TrainArgs(string data, string outDir) =>
        ["train", "--model", "lenet5", "--epochs", "6", "--batch-size", "32", "--threads", "1", "--seed", "17",
         "--optimizer", "adamw", "--data", data, "--out", outDir, "--json"];

    private static readonly System.Collections.Concurrent.ConcurrentQueue<string> Stderr = new();

    private static Process Start(string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Cli);
        foreach (var a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) Stderr.Enqueue(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    private static int RunToEnd(string[] args)
    {
        using var p = Start(args);
        p.WaitForExit();
        return p.ExitCode;
    }

    private static string Hash(string dir) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Path.Combine(dir, Checkpoint.ModelFile))));

    [Fact]
    public void KilledAtRandomPointsTheCheckpointAlwaysLoadsAndResumingGivesTheSameWeights()
    {
        Assert.True(File.Exists(Cli), $"{Cli} not found (the test project references CnnLab.Cli)");
        var data = TinyData.Folder(256, 64);
        var reference = TinyData.TempDir("kill-ref");
        var timer = Stopwatch.StartNew();
        Assert.Equal(0, RunToEnd(TrainArgs(data, reference)));
        // Kill moments scale with this machine's speed (and load): uniform over 10-100% of a whole run.
        int wholeRunMs = (int)timer.ElapsedMilliseconds;
        string expected = Hash(reference);

        var rng = new Random(12345);
        var clock = Stopwatch.StartNew();
        var dir = TinyData.TempDir("kill");
        int kills = 0, completions = 0, loadedAfterKill = 0;
        // Also until one kill has left a checkpoint to resume from: when every run of a burst is slower than the reference
        // (this host's neighbours), kills drawn from its time can all land before the first epoch's checkpoint, and then
        // nothing is resumed at all (seen once: 20 kills, none with a checkpoint).
        while ((kills < Kills || loadedAfterKill == 0) && clock.Elapsed < Budget)
        {
            bool resume = Checkpoint.Exists(dir);
            if (!resume) { Directory.Delete(dir, recursive: true); Directory.CreateDirectory(dir); }
            string[] args = resume ? ["train", "--resume", dir, "--data", data, "--json"] : TrainArgs(data, dir);
            Stderr.Clear();
            using var p = Start(args);
            // Startup takes ~0.3 s, each epoch (8 steps, evaluation, checkpoint) ~0.1-0.3 s on an idle machine.
            if (!p.WaitForExit(rng.Next(wholeRunMs / 10, wholeRunMs)))
            {
                p.Kill();   // SIGKILL on Unix
                p.WaitForExit();
                kills++;
                if (Checkpoint.Exists(dir))
                {
                    Checkpoint.Contents c;
                    try { c = Checkpoint.Load(dir); }   // must never throw
                    catch (Exception e)
                    {
                        throw new Xunit.Sdk.XunitException($"after kill {kills} ({(resume ? "resumed" : "fresh")} run): {e}\n"
                            + $"files: {string.Join(", ", Directory.GetFiles(dir).Select(Path.GetFileName))}");
                    }
                    Assert.InRange(c.State.Epoch, 0, 6);
                    loadedAfterKill++;
                }
            }
            else
            {
                p.WaitForExit();
                Assert.True(p.ExitCode == 0,
                    $"run {(resume ? "resumed" : "fresh")} after {kills} kills exited {p.ExitCode}: {string.Join("\n", Stderr)}");
                Assert.Equal(expected, Hash(dir));
                completions++;
                Directory.Delete(dir, recursive: true);
                Directory.CreateDirectory(dir);
            }
        }
        // Finish the last interrupted run and compare with the uninterrupted one.
        if (Checkpoint.Exists(dir))
        {
            Assert.Equal(0, RunToEnd(["train", "--resume", dir, "--data", data, "--json"]));
            Assert.Equal(expected, Hash(dir));
            completions++;
        }
        output.WriteLine($"{kills} kills ({loadedAfterKill} with a checkpoint to load), "
            + $"{completions} resumed runs reached the reference weights, {clock.Elapsed.TotalSeconds:0} s");
        Assert.True(kills >= Kills, $"only {kills} kills in {Budget.TotalSeconds} s");
        Assert.True(completions >= 1);
    }
}

/// <summary>The kill test runs alone: its kill moments are calibrated on an otherwise idle machine.</summary>
[CollectionDefinition("kill", DisableParallelization = true)]
public sealed class KillCollection;
