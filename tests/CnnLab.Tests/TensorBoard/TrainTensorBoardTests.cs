using System.Globalization;
using System.Text.Json;
using Xunit;

namespace CnnLab.Tests.TensorBoard;

/// <summary>
/// <c>cnnlab train --tensorboard DIR</c> end to end, read back by the independent reader: per-step scalars equal to the
/// losses <c>--log-steps</c> prints, epoch scalars equal to metrics.jsonl, a histogram of every parameter and gradient,
/// and the filter and feature-map PNGs, at the steps where an epoch and the run ended.
/// </summary>
public class TrainTensorBoardTests
{
    [Fact]
    public void TrainWritesStepAndEpochScalarsHistogramsAndImages()
    {
        // 256 images in batches of 32: 8 steps an epoch, so epoch 1 ends at step 8 and --max-steps stops at 12.
        string data = TinyData.Folder(256, 64);
        string run = TinyData.TempDir("tb-run");
        string tb = Path.Combine(TinyData.TempDir("tb"), "events");
        var r = Cli.Run("train", "--model", "lenet5", "--epochs", "2", "--max-steps", "12", "--batch-size", "32", "--threads", "1",
            "--data", data, "--out", run, "--tensorboard", tb, "--log-steps", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var file = Assert.Single(Directory.GetFiles(tb));
        var values = EventFileReader.Values(EventFileReader.Read(file)).ToList();
        (long, double) Point((long Step, JsonElement V) v) => (v.Step, v.V.GetProperty("value").GetDouble());
        List<(long, double)> Series(string tag) => values.Where(v => v.Value.GetProperty("tag").GetString() == tag).Select(Point).ToList();

        // --log-steps prints each step's loss as a float32; the event holds the same float32.
        var logged = r.Stdout.Split('\n').Where(l => l.StartsWith("{\"step\"", StringComparison.Ordinal))
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Select(e => (e.GetProperty("step").GetInt64(), (double)e.GetProperty("loss").GetSingle())).ToList();
        Assert.Equal(12, logged.Count);
        Assert.Equal(logged, Series("train/loss"));
        Assert.Equal(Enumerable.Range(1, 12).Select(s => (long)s), Series("train/accuracy").Select(p => p.Item1));
        Assert.All(Series("train/accuracy"), p => Assert.InRange(p.Item2, 0, 1));
        Assert.Equal(1e-3, Series("train/lr")[0].Item2, 1e-9);   // AdamW's default rate at the first step (cosine starts there)

        // Epoch 1's line of metrics.jsonl, at step 8.
        var epoch = JsonDocument.Parse(File.ReadLines(Path.Combine(run, "metrics.jsonl")).First()).RootElement;
        Assert.Equal([(8L, (double)(float)epoch.GetProperty("test_acc").GetDouble())], Series("epoch/test_accuracy"));
        Assert.Equal([(8L, (double)(float)epoch.GetProperty("train_loss").GetDouble())], Series("epoch/train_loss"));
        Assert.Single(Series("epoch/test_loss"));
        Assert.Single(Series("epoch/lr"));

        // lenet5's ten parameters (five layers' weight and bias), values and gradients, at step 8 and at step 12.
        var histograms = values.Where(v => v.Value.GetProperty("kind").GetString() == "histo").ToList();
        Assert.Equal(2 * 10 * 2, histograms.Count);
        Assert.Equal([8L, 12L], histograms.Select(h => h.Step).Distinct());
        var conv1 = histograms.First(h => h.Value.GetProperty("tag").GetString() == "weights/0.weight").Value;
        Assert.Equal(6 * 1 * 5 * 5, conv1.GetProperty("num").GetDouble());
        Assert.Contains(histograms, h => h.Value.GetProperty("tag").GetString() == "gradients/0.weight");

        // Filters, the input and six feature-map stages (conv, ReLU, pool twice), at both steps.
        var images = values.Where(v => v.Value.GetProperty("kind").GetString() == "image").ToList();
        Assert.Equal(2 * 8, images.Count);
        Assert.Contains(images, i => i.Value.GetProperty("tag").GetString() == "images/first_layer_filters" && i.Step == 12);
        Assert.Contains(images, i => i.Value.GetProperty("tag").GetString() == "images/feature_maps/00_Conv2d" && i.Step == 8);
        Assert.All(images, i => Assert.Equal(i.Value.GetProperty("png_height").GetInt64(), i.Value.GetProperty("height").GetInt64()));
        foreach (var dir in new[] { data, run, Path.GetDirectoryName(tb)! }) Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void AnUnwritableTensorBoardFolderIsAOneLineUsageError()
    {
        string blocker = Path.Combine(TinyData.TempDir("tb-blocked"), "file");
        File.WriteAllText(blocker, "");
        var r = Cli.Run("train", "--max-steps", "1", "--out", TinyData.TempDir("tb-run"), "--tensorboard", Path.Combine(blocker, "tb"));
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("cnnlab: --tensorboard: cannot write to folder", r.Stderr);
        Assert.Single(r.Stderr.TrimEnd().Split('\n'));
    }

    [Fact]
    public void AnEmptyTensorBoardFolderNameIsAOneLineUsageError()
    {
        var r = Cli.Run("train", "--max-steps", "1", "--out", TinyData.TempDir("tb-run"), "--tensorboard", "");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("cnnlab: --tensorboard needs a folder name, got an empty one", r.Stderr.TrimEnd());
    }
}
