using System.IO.Compression;
using System.Text.RegularExpressions;
using CnnLab.Kernels;
using Xunit;

namespace CnnLab.Tests.Packaging;

/// <summary>
/// The <c>cnnlab</c> tool as a user gets it: <c>dotnet tool install --tool-path DIR --add-source FEED CnnLab.Cli</c>, then
/// the installed command run from an empty folder outside the repository, so nothing of the checkout can stand in for
/// what the package lacks (the embedded data subset, the font, the native SkiaSharp library).
/// </summary>
[Collection(PackagingCollection.Name)]
public class ToolPackageTests(PackedArtifacts packages)
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);

    [Fact]
    public void TheInstalledToolPrintsItsVersionListsTheModelsAndTrains20Steps()
    {
        string toolPackage = packages.Package("CnnLab.Cli");
        using (var zip = ZipFile.OpenRead(toolPackage))
            Assert.Contains(zip.Entries, e => e.FullName == "tools/net10.0/any/DotnetToolSettings.xml");
        string tools = TinyData.TempDir("tool-path");
        string empty = TinyData.TempDir("tool-cwd");
        try
        {
            var install = ChildProcess.Run("dotnet", ["tool", "install", "--tool-path", tools, "--add-source", packages.Feed,
                "CnnLab.Cli", "--version", packages.Version], empty, Limit);
            Assert.True(install.ExitCode == 0, $"dotnet tool install: {install}");
            string cnnlab = Path.Combine(tools, "cnnlab");
            // The installed command must find everything in its package: no data folder, no repository to fall back on.
            var env = new Dictionary<string, string?> { ["CNNLAB_DATA"] = null };

            var version = ChildProcess.Run(cnnlab, ["--version"], empty, Limit, env);
            Assert.True(version.ExitCode == 0, $"cnnlab --version: {version}");
            var lines = version.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal($"cnnlab {packages.Version.Split('-')[0]}", lines[0]);
            Assert.Matches(new Regex("^commit [0-9a-f]{40}$"), lines[1]);
            Assert.StartsWith($"SIMD {SimdPath.Name} ", lines[2]);

            var models = ChildProcess.Run(cnnlab, ["models"], empty, Limit, env);
            Assert.True(models.ExitCode == 0, $"cnnlab models: {models}");
            Assert.Contains("cnn-small", models.Stdout);
            Assert.Contains("421,642", models.Stdout);

            // --tensorboard draws filters and feature maps: SkiaSharp's native library and the font must be in the package.
            var train = ChildProcess.Run(cnnlab, ["train", "--model", "lenet5", "--max-steps", "20", "--batch-size", "32",
                "--threads", "1", "--out", "run", "--tensorboard", "tb"], empty, Limit, env);
            Assert.True(train.ExitCode == 0, $"cnnlab train: {train}");
            Assert.Contains("Stopped after --max-steps 20", train.Stdout);
            Assert.True(File.Exists(Path.Combine(empty, "run", "model.safetensors")), train.ToString());
            var events = File.ReadAllBytes(Assert.Single(Directory.GetFiles(Path.Combine(empty, "tb"))));
            Assert.True(events.AsSpan().IndexOf("images/feature_maps/00_Conv2d"u8) > 0, "no feature-map image in the event file");
        }
        finally
        {
            Directory.Delete(tools, recursive: true);
            Directory.Delete(empty, recursive: true);
        }
    }

    [Fact]
    public void TheVersionNamesTheSimdPathTheRuntimeWasToldToUse()
    {
        // The three paths, chosen per process by the runtime's switches: the line must follow the JIT, not the CPU.
        var cases = new[] { ("DOTNET_EnableHWIntrinsic", "0", "SIMD scalar "), ("DOTNET_EnableAVX512", "0", "SIMD ") };
        string dll = Path.Combine(AppContext.BaseDirectory, "cnnlab.dll");
        foreach (var (variable, value, expected) in cases)
        {
            var run = ChildProcess.Run("dotnet", [dll, "--version"], AppContext.BaseDirectory, Limit,
                new Dictionary<string, string?> { [variable] = value });
            Assert.True(run.ExitCode == 0, run.ToString());
            string simd = run.Stdout.Split('\n')[2];
            Assert.StartsWith(expected, simd);
            if (variable == "DOTNET_EnableAVX512") Assert.DoesNotContain("AVX-512", simd);
        }
    }
}
