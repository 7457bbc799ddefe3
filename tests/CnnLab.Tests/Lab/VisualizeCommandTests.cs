using CnnLab.Nn.Models;
using CnnLab.Optim;
using CnnLab.Tensors;
using CnnLab.Training;
using Xunit;

namespace CnnLab.Tests;

public class VisualizeCommandTests
{
    private static readonly Lazy<string> Data = new(() => TinyData.Folder(64, 20));

    private static string SaveCheckpoint(string model)
    {
        var dir = TinyData.TempDir("viz-ckpt");
        var net = ModelZoo.Create(model, new Generator(2));
        Checkpoint.Save(dir, net, new AdamW(net.Parameters()), new TrainingConfig { Model = model },
            new TrainingState(1, 0, 0, new Generator(1).GetState()));
        return dir;
    }

    [Fact]
    public void WritesEveryStageFiltersAndArithmetic()
    {
        var ckpt = SaveCheckpoint("lenet5");
        var outDir = TinyData.TempDir("viz-out");
        var r = Cli.Run("visualize", "--checkpoint", ckpt, "--image", "3", "--out", outDir, "--arithmetic", "--data", Data.Value);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("Test image 3", r.Stdout);
        foreach (var f in new[] { "image3-input", "image3-stage-0", "image3-stage-1", "image3-stage-2", "image3-stage-5", "filters" })
            Assert.True(File.Exists(Path.Combine(outDir, f + ".png")), f);
        Assert.Contains("Convolution arithmetic", r.Stdout);
        Assert.Contains("kernel w[", r.Stdout);
        Assert.Contains("MaxPool2d 2: max of [", r.Stdout);
    }

    [Fact]
    public void BadImageIndexAndNonCnnAreUserErrors()
    {
        var ckpt = SaveCheckpoint("lenet5");
        var r = Cli.Run("visualize", "--checkpoint", ckpt, "--image", "999", "--out", TinyData.TempDir("viz-bad"), "--data", Data.Value);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--image must be between 0 and 19", r.Stderr);
        var mlp = SaveCheckpoint("mlp-1-8-relu");
        var r2 = Cli.Run("visualize", "--checkpoint", mlp, "--image", "0", "--data", Data.Value);
        Assert.Equal(2, r2.ExitCode);
        Assert.Contains("convolutional model", r2.Stderr);
        var r3 = Cli.Run("visualize", "--checkpoint", TinyData.TempDir("viz-empty"), "--image", "0");
        Assert.Equal(2, r3.ExitCode);
    }
}
