using CnnLab.Data;
using CnnLab.Serialization;
using CnnLab.Training;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// data.py of <c>cnnlab export pytorch</c> reads each data format CnnLab trains on into the very float32 values CnnLab's
/// DataLoader gives (same images, labels, order and per-channel normalization), bit for bit.
/// </summary>
public class PyTorchDataTests
{
    [Theory]
    [InlineData("idx")]
    [InlineData("cifar-10")]
    [InlineData("image-folder")]
    public void DataPyGivesCnnLabsNormalizedImagesBitForBit(string format)
    {
        string dataDir = format switch
        {
            "idx" => TinyData.Folder(40, 20),
            "cifar-10" => CifarBinaryTests.Cifar10(7, 2, 5),
            _ => ImageFiles.Folder(["cat", "dog", "owl"], 4, width: 12, height: 12),
        };
        var project = Path.Combine(TinyData.TempDir("data-py"), "project");
        var export = Cli.Run("export", "pytorch", "--model", "cnn-small", "--data", dataDir, "--out", project);
        Assert.True(export.ExitCode == 0, export.Stderr);
        AssertSameImages(project, dataDir, format, levels: 0);
    }

    /// <summary>A folder without train/ and test/ (CnnLab's seeded split), images resized and centre-cropped by the run.</summary>
    [Fact]
    public void DataPyReadsAnImageFolderRunWithItsSplitSizeAndCrop()
    {
        string dataDir = ImageFiles.Folder(["cat", "dog"], 6, width: 12, height: 10, splits: false, grey: true);
        var run = Path.Combine(TinyData.TempDir("data-py-run"), "run");
        var train = Cli.Run("train", "--model", "cnn-small", "--data", dataDir, "--channels", "1", "--image-size", "8", "--center-crop",
            "--val-split", "0.34", "--epochs", "1", "--max-steps", "1", "--threads", "1", "--seed", "3", "--out", run);
        Assert.True(train.ExitCode == 0, train.Stderr);
        var project = Path.Combine(TinyData.TempDir("data-py"), "project");
        var export = Cli.Run("export", "pytorch", "--checkpoint", run, "--data", dataDir, "--out", project);
        Assert.True(export.ExitCode == 0, export.Stderr);
        // CnnLab's resize follows Pillow's to one grey level (ImageResizeTests): the same images, split and crop, to that level.
        AssertSameImages(project, dataDir, "image-folder (split, resized, cropped)", levels: 1);
    }

    // levels: how many grey levels (of 255) a pixel may differ by; 0 asks for the same bits.
    private static void AssertSameImages(string project, string dataDir, string format, int levels)
    {
        if (format.StartsWith("image-folder", StringComparison.Ordinal)) TorchProcess.RequirePillow();
        else TorchProcess.Require();
        File.WriteAllText(Path.Combine(project, "dump.py"), """
            import torch
            import data
            from safetensors_io import save_file
            out = {}
            for split in ("train", "test"):
                images = data.load(None, split)
                out[split + "_x"] = torch.stack([images[i][0] for i in range(len(images))])
                out[split + "_y"] = torch.stack([images[i][1] for i in range(len(images))]).float()
            save_file("dump.safetensors", out)
            """);
        var (code, output) = TorchProcess.Run(TorchProcess.Python, ["dump.py"], project, 300);
        Assert.True(code == 0, output);
        var dumped = SafeTensors.Load(Path.Combine(project, "dump.safetensors")).Tensors;

        var config = TrainingConfig.FromJson(File.ReadAllText(Path.Combine(project, "cnnlab_config.json")), "cnnlab_config.json");
        var split = new DataSource(DataSourceKind.Argument, dataDir, "test data").Load(config.DataOptions, new List<string>());
        foreach (var (name, set) in new[] { ("train", split.Train), ("test", split.Test) })
        {
            var batch = new DataLoader(set, set.Count, normalize: config.Normalization).Epoch(0).Single();
            Assert.Equal(batch.X.Shape, dumped[name + "_x"].Shape);
            var (ours, theirs) = (batch.X.Data.ToArray(), dumped[name + "_x"].Data.ToArray());
            int plane = ours.Length / set.Count / set.Channels;
            for (int i = 0; i < ours.Length; i++)
            {
                // The difference in grey levels: normalized values times std times 255.
                double level = Math.Abs(ours[i] - theirs[i]) * config.Normalization.Stds[i / plane % set.Channels] * 255;
                Assert.True(levels == 0 ? ours[i] == theirs[i] : level <= levels + 1e-3, $"{format} {name}: element {i} (image " +
                    $"{i / (plane * set.Channels)}) is {theirs[i]} in data.py, {ours[i]} in CnnLab ({level:0.###} levels)");
            }
            Assert.Equal(batch.Y.Select(y => (float)y), dumped[name + "_y"].Data.ToArray());
        }
    }
}
