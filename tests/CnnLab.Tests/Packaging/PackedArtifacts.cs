using System.Reflection;
using Xunit;

namespace CnnLab.Tests.Packaging;

/// <summary>
/// The four packages, packed once for the packaging tests by <c>dotnet pack CnnLab.slnx --no-build</c> from the binaries
/// this test run was built with, into a fresh folder (the tests' own artifacts/).
/// </summary>
/// <remarks>
/// Each run packs under a version of its own, <c>VERSION-test.RANDOM</c>: NuGet keeps an extracted package in its global
/// folder by id and version and never looks at the source again, so a fixed version would let a stale package from an
/// earlier run stand in for this one. The entry this run adds to the global folder is deleted at the end.
/// </remarks>
public sealed class PackedArtifacts : IDisposable
{
    public PackedArtifacts()
    {
        Version = $"{BaseVersion()}-test.{Guid.NewGuid():N}"[..32];
        Feed = TinyData.TempDir("packages");
        PackResult = ChildProcess.Run("dotnet",
            ["pack", Path.Combine(ChildProcess.RepoRoot, "CnnLab.slnx"), "-c", ChildProcess.Configuration, "--no-build",
             "-o", Feed, $"-p:PackageVersion={Version}"],
            ChildProcess.RepoRoot, TimeSpan.FromMinutes(5));
    }

    /// <summary>The folder the .nupkg and .snupkg files are in (a local NuGet source).</summary>
    public string Feed { get; }

    /// <summary>The version every package of this run has.</summary>
    public string Version { get; }

    public ChildProcess.Result PackResult { get; }

    /// <summary>The package file for <paramref name="id"/> (e.g. "CnnLab"), after checking that the pack succeeded.</summary>
    public string Package(string id, string extension = "nupkg")
    {
        Assert.True(PackResult.ExitCode == 0, $"dotnet pack failed: {PackResult}");
        string path = Path.Combine(Feed, $"{id}.{Version}.{extension}");
        Assert.True(File.Exists(path), $"{path} was not written; the feed has {string.Join(", ", Directory.GetFiles(Feed))}");
        return path;
    }

    // The version of Directory.Build.props, as the library assembly carries it ("0.1.0+commit" → "0.1.0").
    private static string BaseVersion() =>
        typeof(CnnLab.Kernels.SimdPath).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!
            .InformationalVersion.Split('+')[0];

    private static string GlobalPackages() =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } dir
            ? dir
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    public void Dispose()
    {
        foreach (var id in new[] { "cnnlab", "cnnlab.viz", "cnnlab.lab", "cnnlab.cli" })
        {
            string extracted = Path.Combine(GlobalPackages(), id, Version.ToLowerInvariant());
            if (Directory.Exists(extracted)) Directory.Delete(extracted, recursive: true);
            // The id's folder too, when this run's version was all it held.
            string idFolder = Path.Combine(GlobalPackages(), id);
            if (Directory.Exists(idFolder) && !Directory.EnumerateFileSystemEntries(idFolder).Any()) Directory.Delete(idFolder);
        }
        if (Directory.Exists(Feed)) Directory.Delete(Feed, recursive: true);
    }
}
