using System.Globalization;
using System.Text.RegularExpressions;
using CnnLab.Tests.Packaging;
using Xunit;

namespace CnnLab.Tests.Examples;

/// <summary>
/// Every <c>examples/*.cs</c> runs as a user runs it, <c>dotnet run examples/NAME.cs -- BUDGET</c> from the repository's
/// root (in this test run's configuration, so the library is not built twice), with a small budget, and prints what its
/// comment promises; and the README's C# is these files, character for character.
/// </summary>
[Collection(PackagingCollection.Name)]
public class ExampleTests
{
    private static readonly string Examples = Path.Combine(ChildProcess.RepoRoot, "examples");

    private static ChildProcess.Result Run(string name, params string[] args)
    {
        var run = ChildProcess.Run("dotnet", ["run", "-c", ChildProcess.Configuration, Path.Combine("examples", name), "--", .. args],
            ChildProcess.RepoRoot, TimeSpan.FromMinutes(5));
        Assert.True(run.ExitCode == 0, $"dotnet run examples/{name}: {run}");
        return run;
    }

    private static double Number(string text, string pattern) =>
        double.Parse(Regex.Match(text, pattern).Groups[1].Value, CultureInfo.InvariantCulture);

    [Fact]
    public void TheTrainingLoopLearns()
    {
        var run = Run("train.cs", "20");
        // 20 AdamW steps of 128 images take cnn-small from chance (10%) to well above it.
        Assert.InRange(Number(run.Stdout, @"epoch 1: 20 steps, test loss [0-9.]+, test accuracy ([0-9.]+)%"), 30, 100);
    }

    [Fact]
    public void KaimingCarriesTheFirstLayersGradientThrough30LayersAndXavierDoesNot()
    {
        var run = Run("init-depth.cs", "2");
        double xavier = Number(run.Stdout, @"xavier-normal: .*first-layer \|gradient\| ([0-9.E+-]+)");
        double kaiming = Number(run.Stdout, @"kaiming-normal: .*first-layer \|gradient\| ([0-9.E+-]+)");
        // He et al.'s prediction for 29 ReLU layers is a factor (√2)^29 ≈ 2.3e4; at least a thousand is asked for.
        Assert.True(kaiming > 1000 * xavier, run.Stdout);
        Assert.Contains("kaiming-normal: loss after 2 SGD steps", run.Stdout);
    }

    [Fact]
    public void AdamAndAdamWBothTrainTheSmallCnn()
    {
        var run = Run("adam-vs-adamw.cs", "10");
        Assert.InRange(Number(run.Stdout, @"Adam \+ L2: 10 steps, .*test accuracy ([0-9.]+)%"), 15, 100);
        Assert.InRange(Number(run.Stdout, @"AdamW    : 10 steps, .*test accuracy ([0-9.]+)%"), 15, 100);
    }

    [Fact]
    public void FeatureMapsOfTheTrainedModelArePngs()
    {
        string dir = TinyData.TempDir("example-feature-maps");
        var run = Run("feature-maps.cs", "5", dir);
        foreach (var name in new[] { "filters.png", "relu-1.png", "relu-4.png" })
        {
            var bytes = File.ReadAllBytes(Path.Combine(dir, name));
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
        }
        Assert.Contains("layer 4 ReLU: 64 maps of 14x14", run.Stdout);
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void PyTorchWeightsLoadAndPredictAsPyTorchDoes()
    {
        var run = Run("load-pytorch.cs");
        Assert.Contains("loaded 8 tensors", run.Stdout);
        Assert.InRange(Number(run.Stdout, @"largest difference from PyTorch's logits: ([0-9.E+-]+)"), 0, 1e-4);
        Assert.Matches(new Regex(@"input 3: \S"), run.Stdout);
    }

    [Fact]
    public void TheReadmesCSharpProgramsAreTheExampleFilesAndItNamesEachOfThem()
    {
        string readme = File.ReadAllText(Path.Combine(ChildProcess.RepoRoot, "README.md"));
        var blocks = Regex.Matches(readme, "```csharp\n(.*?)```", RegexOptions.Singleline).Select(m => m.Groups[1].Value).ToList();
        var files = Directory.GetFiles(Examples, "*.cs").ToDictionary(f => Path.GetFileName(f), File.ReadAllText);
        // A C# block that is a program (it starts with the #:project line) is one whole example file, so the README cannot
        // show a program that does not run; a fragment of a few lines is checked by a test of its own (e.g. ImageFolderTests).
        var programs = blocks.Where(b => b.StartsWith("#:project", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(programs);
        foreach (var block in programs)
            Assert.True(files.ContainsValue(block), $"this README program is no examples/*.cs file:\n{block}");
        Assert.Contains(files["train.cs"], blocks);
        foreach (var name in files.Keys)
            Assert.Contains($"dotnet run examples/{name}", readme);
    }
}
