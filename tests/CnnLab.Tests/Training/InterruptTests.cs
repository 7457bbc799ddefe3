using System.Diagnostics;
using CnnLab.Training;
using Xunit;

namespace CnnLab.Tests;

[Collection("cli")]
public class InterruptTests
{
    private static string CliDll => Path.Combine(AppContext.BaseDirectory, "cnnlab.dll");

    [Fact]
    public async Task SigintSavesACheckpointExitsWith130AndTheRunResumes()
    {
        var data = TinyData.Folder(512, 100);
        var dir = TinyData.TempDir("sigint");
        // Through env, which execs dotnet with SIGINT's default action: a test host started as a background job of a
        // non-interactive shell ignores SIGINT, its children inherit that, and the run would never see the signal.
        var psi = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true };
        // Far more epochs than it will run: on a loaded host the test may read step 20's line late, and the run must still
        // be going when the signal arrives.
        foreach (var a in new[] { "--default-signal=INT", "dotnet", CliDll, "train", "--model", "lenet5", "--epochs", "2000",
                     "--batch-size", "32", "--threads", "1", "--data", data, "--out", dir, "--log-steps" })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        // Wait until training is under way (the first logged step), then press Ctrl-C.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        string? line;
        while ((line = await p.StandardOutput.ReadLineAsync(timeout.Token)) is not null
            && !line.Contains("\"step\":20", StringComparison.Ordinal)) { }
        Assert.NotNull(line);
        using (var kill = Process.Start("kill", ["-INT", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!)
            await kill.WaitForExitAsync(timeout.Token);
        _ = p.StandardOutput.ReadToEndAsync(timeout.Token);
        await p.WaitForExitAsync(timeout.Token);
        Assert.Equal(130, p.ExitCode);
        Assert.Contains("Interrupted at step", await stderr);

        var saved = Checkpoint.Load(dir);
        Assert.InRange(saved.State.Step, 20, 2000 * 16 - 1);
        Assert.Equal(2000, saved.Config.Epochs);

        // Resuming continues with the very next step (bit-identity of resume is tested in TrainCliTests).
        var split = CnnLab.Data.DataSource.Resolve(data, null).Load();
        var trainer = Trainer.Resume(dir, split);
        long firstStep = -1;
        using var cts = new CancellationTokenSource();
        trainer.StepCompleted += (s, _) => { if (firstStep < 0) firstStep = s; cts.Cancel(); };
        Assert.Equal(TrainingStatus.Interrupted, trainer.Run(cts.Token).Status);
        Assert.Equal(saved.State.Step + 1, firstStep);
    }
}
