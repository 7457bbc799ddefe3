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
    public void DataPyGivesCnnLabsNormalizedImagesBitForBit(string format)
    {
        TorchProcess.Require();
        string dataDir = format == "idx" ? TinyData.Folder(40, 20) : CifarBinaryTests.Cifar10(7, 2, 5);
        var project = Path.Combine(TinyData.TempDir("data-py"), "project");
        var export = Cli.Run("export", "pytorch", "--model", "cnn-small", "--data", dataDir, "--out", project);
        Assert.True(export.ExitCode == 0, export.Stderr);
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
        var split = new DataSource(DataSourceKind.Argument, dataDir, "test data").Load(DatasetOptions.Default, new List<string>());
        foreach (var (name, set) in new[] { ("train", split.Train), ("test", split.Test) })
        {
            var batch = new DataLoader(set, set.Count, normalize: config.Normalization).Epoch(0).Single();
            Assert.Equal(batch.X.Shape, dumped[name + "_x"].Shape);
            Assert.True(batch.X.Data.SequenceEqual(dumped[name + "_x"].Data), $"{format} {name}: data.py's images differ from CnnLab's");
            Assert.Equal(batch.Y.Select(y => (float)y), dumped[name + "_y"].Data.ToArray());
        }
    }
}
