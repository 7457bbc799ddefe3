using Xunit;

namespace CnnLab.Tests;

/// <summary><c>cnnlab export pytorch</c> refuses what it cannot translate faithfully, in one line with exit code 2.</summary>
public class ExportPyTorchCliTests
{
    [Fact]
    public void ACheckpointBringsItsOwnRecipe()
    {
        var project = Path.Combine(TinyData.TempDir("p"), "x");
        var r = Cli.Run("export", "pytorch", "--checkpoint", TinyData.TempDir("ckpt"), "--lr", "0.1", "--out", project);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--checkpoint brings its own recipe", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void AModelForOtherImagesThanTheDataIsRefused()
    {
        var dir = TinyData.TempDir("spec");
        var spec = Path.Combine(dir, "rgb.json");
        File.WriteAllText(spec, """{ "input": [3, 32, 32], "layers": [ { "type": "flatten" }, { "type": "linear", "out_features": 10 } ] }""");
        var r = Cli.Run("export", "pytorch", "--model", spec, "--out", Path.Combine(dir, "project"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("reads the IDX images as stored, [1, 28, 28]", r.Stderr, StringComparison.Ordinal);
        Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.False(Directory.Exists(Path.Combine(dir, "project")));
    }

    [Fact]
    public void AFolderThatHoldsFilesIsNotWrittenOver()
    {
        var dir = TinyData.TempDir("busy");
        File.WriteAllText(Path.Combine(dir, "train.py"), "# the user's own");
        var r = Cli.Run("export", "pytorch", "--model", "mlp", "--out", dir);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("# the user's own", File.ReadAllText(Path.Combine(dir, "train.py")));
    }
}
