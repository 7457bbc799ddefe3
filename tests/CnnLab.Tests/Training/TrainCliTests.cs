using System.Security.Cryptography;
using System.Text.Json;
using CnnLab.Data;
using CnnLab.Training;
using Xunit;

namespace CnnLab.Tests;

[Collection("cli")]
public class TrainCliTests
{
    private static readonly Lazy<string> Data = new(() => TinyData.Folder(512, 200));

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    private static string[] Common(string outDir, params string[] extra) =>
        ["train", "--model", "lenet5", "--batch-size", "64", "--threads", "1", "--data", Data.Value, "--out", outDir,
         .. (extra.Contains("--epochs") ? [] : new[] { "--epochs", "2" }), .. extra];

    [Fact]
    public void TrainsThroughTheRealEntryPointAndWritesMetricsAndCheckpoint()
    {
        var dir = TinyData.TempDir("train");
        var r = Cli.Run(Common(dir, "--json"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains(Data.Value, r.Stderr);                  // which data was used is always said
        var lines = r.Stdout.Trim().Split('\n');
        Assert.Equal(2, lines.Length);                          // --json: one object per epoch, nothing else
        var metrics = File.ReadAllLines(Path.Combine(dir, "metrics.jsonl"));
        Assert.Equal(2, metrics.Length);
        foreach (var key in new[] { "epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds", "images_per_sec" })
            Assert.True(JsonDocument.Parse(metrics[1]).RootElement.TryGetProperty(key, out _), key);
        double acc = JsonDocument.Parse(metrics[1]).RootElement.GetProperty("test_acc").GetDouble();
        Assert.InRange(acc, 0.2, 1.0);                          // well above chance (0.1) after 16 steps
        foreach (var f in new[] { Checkpoint.ModelFile, Checkpoint.OptimizerFile, Checkpoint.ConfigFile, Checkpoint.StateFile })
            Assert.True(File.Exists(Path.Combine(dir, f)), f);
        Assert.Equal([Path.Combine(dir, RunFolder.LockFile)], Directory.GetFiles(dir, ".*"));   // no temporaries or journal

        var eval = Cli.Run("eval", "--checkpoint", dir, "--data", Data.Value, "--json");
        Assert.True(eval.ExitCode == 0, eval.Stderr);
        var e = JsonDocument.Parse(eval.Stdout).RootElement;
        Assert.Equal(acc, e.GetProperty("test_acc").GetDouble(), 9);
        Assert.Equal(10, e.GetProperty("per_class_acc").GetArrayLength());

        var pred = Cli.Run("predict", "--checkpoint", dir, "--data", Data.Value, "--index", "3");
        Assert.True(pred.ExitCode == 0, pred.Stderr);
        Assert.Contains("true class", pred.Stdout);
        Assert.Equal(3, pred.Stdout.Split('\n').Count(l => l.Contains('%')));

        // The same test image as a PNG file gives the same ranking (28x28 PNG: no resampling loss).
        var split = DataSource.Resolve(Data.Value, null).Load();
        var png = Path.Combine(dir, "img3.png");
        using (var bmp = new SkiaSharp.SKBitmap(28, 28, SkiaSharp.SKColorType.Gray8, SkiaSharp.SKAlphaType.Opaque))
        {
            split.Test.ImageBytes(3).CopyTo(bmp.GetPixelSpan());
            using var fs = File.Create(png);
            bmp.Encode(fs, SkiaSharp.SKEncodedImageFormat.Png, 100);
        }
        var fromFile = Cli.Run("predict", "--checkpoint", dir, png);
        Assert.True(fromFile.ExitCode == 0, fromFile.Stderr);
        static string Top(string s) => s.Split('\n').First(l => l.Contains('%')).Trim();
        Assert.Equal(Top(pred.Stdout), Top(fromFile.Stdout));
        var notImage = Path.Combine(dir, "bad.png");
        File.WriteAllText(notImage, "hello");
        var bad = Cli.Run("predict", "--checkpoint", dir, notImage);
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("bad.png: not an image", bad.Stderr);
    }

    [Fact]
    public void SameSeedGivesIdenticalMetricsAndWeights()
    {
        var a = TinyData.TempDir("det-a");
        var b = TinyData.TempDir("det-b");
        var c = TinyData.TempDir("det-c");
        Assert.Equal(0, Cli.Run(Common(a, "--seed", "3")).ExitCode);
        Assert.Equal(0, Cli.Run(Common(b, "--seed", "3")).ExitCode);
        Assert.Equal(0, Cli.Run(Common(c, "--seed", "4")).ExitCode);
        static string Untimed(string dir) => string.Join("\n", File.ReadAllLines(Path.Combine(dir, "metrics.jsonl"))
            .Select(l => JsonSerializer.Deserialize<EpochMetrics>(l)! with { Seconds = 0, ImagesPerSec = 0 }));
        Assert.Equal(Untimed(a), Untimed(b));
        Assert.NotEqual(Untimed(a), Untimed(c));
        Assert.Equal(Hash(Path.Combine(a, Checkpoint.ModelFile)), Hash(Path.Combine(b, Checkpoint.ModelFile)));
    }

    [Fact]
    public void ResumeAfterAnInterruptIsBitIdentical()
    {
        var split = DataSource.Resolve(Data.Value, null).Load();
        var full = TinyData.TempDir("full");
        var config = new TrainingConfig { Model = "lenet5", Epochs = 2, BatchSize = 64, Threads = 1, Seed = 9, Augment = true };
        var uninterrupted = new Trainer(config, split, full).Run();
        Assert.Equal(TrainingStatus.Completed, uninterrupted.Status);

        var part = TinyData.TempDir("part");
        var first = new Trainer(config, split, part);
        using var cts = new CancellationTokenSource();
        first.StepCompleted += (step, _) => { if (step == 11) cts.Cancel(); };   // mid-way through epoch 2 of 8 batches
        Assert.Equal(TrainingStatus.Interrupted, first.Run(cts.Token).Status);
        var resumed = Trainer.Resume(part, split).Run();
        Assert.Equal(TrainingStatus.Completed, resumed.Status);
        Assert.Equal(16, resumed.Steps);
        Assert.Equal(Hash(Path.Combine(full, Checkpoint.ModelFile)), Hash(Path.Combine(part, Checkpoint.ModelFile)));
        Assert.Equal(Hash(Path.Combine(full, Checkpoint.OptimizerFile)), Hash(Path.Combine(part, Checkpoint.OptimizerFile)));
        Assert.Equal(uninterrupted.FinalEvaluation!.Loss, resumed.FinalEvaluation!.Loss);
    }

    [Fact]
    public void DivergenceExitsWithCode3NamingTheStepAndLayer()
    {
        var dir = TinyData.TempDir("nan");
        // SGD at lr 1e4 blows the weights up within the first few steps.
        var r = Cli.Run(Common(dir, "--optimizer", "sgd", "--lr", "10000", "--schedule", "none"));
        Assert.Equal(3, r.ExitCode);
        Assert.Matches("non-finite .* at step [0-9]+: first appeared in the output of layer '[0-9]+'", r.Stderr);
        Assert.Contains("no checkpoint was written", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);             // no stack trace
    }

    [Fact]
    public void DivergenceAfterAnEpochKeepsTheLastGoodCheckpoint()
    {
        var split = DataSource.Resolve(Data.Value, null).Load();
        var dir = TinyData.TempDir("nan-late");
        var trainer = new Trainer(new TrainingConfig { Model = "lenet5", Epochs = 3, BatchSize = 64, Threads = 1 }, split, dir);
        long step = 0;
        trainer.StepCompleted += (s, _) => step = s;
        // From step 11 on (epoch 2), layer 7's output is poisoned: the guard must stop at step 12 and name layer 7.
        ((Nn.Sequential)trainer.Model)[7].RegisterForwardHook((m, i, o) => step >= 11 ? o * float.NaN : null);
        var result = trainer.Run();
        Assert.Equal(TrainingStatus.Diverged, result.Status);
        Assert.Equal(12, result.NonFinite!.Step);
        Assert.Equal("7", result.NonFinite.Layer);
        var kept = Checkpoint.Load(dir);
        Assert.Equal(1, kept.State.Epoch);
        Assert.Equal(8, kept.State.Step);
        Assert.All(kept.Weights.Values, t => Assert.True(NonFiniteGuard.IsFinite(t.Data)));
    }

    [Theory]
    [InlineData("--epochs", "0", "--epochs must be at least 1")]
    [InlineData("--batch-size", "-5", "--batch-size must be between")]
    [InlineData("--optimizer", "adagrad", "--optimizer 'adagrad' is unknown")]
    [InlineData("--model", "vgg", "unknown model 'vgg'")]
    [InlineData("--init", "he", "he")]
    [InlineData("--threads", "0", "--threads must be between")]
    [InlineData("--resume", "/nonexistent/ckpt", "checkpoint folder does not exist")]
    [InlineData("--init-from", "/nonexistent.safetensors", "does not exist")]
    public void BadArgumentsExitWithCode2AndOneLine(string option, string value, string expected)
    {
        var r = Cli.Run("train", "--data", Data.Value, "--out", TinyData.TempDir("bad"), option, value);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(expected, r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'), l => l.StartsWith("cnnlab:", StringComparison.Ordinal));
    }

    [Fact]
    public void UnknownOptionAndUnwritableOutput()
    {
        Assert.Equal(2, Cli.Run("train", "--bogus").ExitCode);
        var file = Path.Combine(TinyData.TempDir("file"), "f");
        File.WriteAllText(file, "");
        var r = Cli.Run("train", "--data", Data.Value, "--out", Path.Combine(file, "sub"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("cannot write to folder", r.Stderr);
    }
}
