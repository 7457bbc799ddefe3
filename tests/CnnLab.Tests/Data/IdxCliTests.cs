using CnnLab.Nn.Models;
using CnnLab.Tensors;
using CnnLab.Training;
using Xunit;

namespace CnnLab.Tests;

/// <summary>The IDX corpus of <see cref="IdxReaderTests.Malformed"/> through the real CLI: exit code 2, one line, no stack trace.</summary>
[Collection("cli")]
public class IdxCliTests
{
    private static readonly Lazy<string> Weights = new(() =>
    {
        var path = Path.Combine(TinyData.TempDir("idx-cli-w"), "lenet5.safetensors");
        Checkpoint.SaveWeights(path, ModelZoo.Create("lenet5", new Generator(1)));
        return path;
    });

    [Theory]
    [MemberData(nameof(IdxReaderTests.Malformed), MemberType = typeof(IdxReaderTests))]
    public void MalformedTestImagesGiveExitCode2AndOneLine(string what, byte[] bytes, string expected)
    {
        var dir = TinyData.Folder(20, 10);
        var images = Path.Combine(dir, "t10k-images-idx3-ubyte");
        File.WriteAllBytes(images, bytes);
        var r = Cli.Run("eval", "--model", "lenet5", "--weights", Weights.Value, "--data", dir, "--threads", "1");
        Assert.True(r.ExitCode == 2, $"{what}: exit {r.ExitCode}, {r.Stderr}");
        var lines = r.Stderr.TrimEnd('\n', '\r').Split('\n');
        Assert.True(lines.Length == 1 && lines[0].StartsWith("cnnlab: ", StringComparison.Ordinal), r.Stderr);
        Assert.Contains(expected, lines[0]);
        Assert.DoesNotContain(" at CnnLab", r.Stderr);
    }
}
