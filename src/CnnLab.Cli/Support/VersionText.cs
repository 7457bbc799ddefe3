using System.CommandLine;
using System.CommandLine.Invocation;
using System.Reflection;
using System.Runtime.InteropServices;
using CnnLab.Kernels;

namespace CnnLab.Cli.Support;

/// <summary>
/// What <c>cnnlab --version</c> prints: the version, the commit it was built from and the SIMD path its kernels take here.
/// The SDK writes the informational version as <c>VERSION+COMMIT</c> when it builds from a git checkout (SourceLink's
/// SourceRevisionId); a build outside one has no commit, and says so.
/// </summary>
public static class VersionText
{
    /// <summary>The lines, from the informational version of the library assembly (CnnLab.Core).</summary>
    public static IReadOnlyList<string> Lines()
    {
        var (version, commit) = Split(typeof(SimdPath).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()
            ?.InformationalVersion ?? "unknown");
        return
        [
            $"cnnlab {version}",
            $"commit {commit ?? "unknown (built outside a git checkout)"}",
            $"SIMD {SimdPath.Name} ({(SimdPath.VectorBits == 0 ? "no vector" : $"{SimdPath.VectorBits}-bit")} kernels)",
            $".NET {Environment.Version} on {RuntimeInformation.RuntimeIdentifier}",
        ];
    }

    /// <summary>"0.1.0+abc" → ("0.1.0", "abc"); "0.1.0" → ("0.1.0", null).</summary>
    public static (string Version, string? Commit) Split(string informational)
    {
        int plus = informational.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? (informational, null) : (informational[..plus], informational[(plus + 1)..]);
    }

    /// <summary>Makes the root command's built-in <c>--version</c> print <see cref="Lines"/> to <paramref name="stdout"/>.</summary>
    public static void Install(RootCommand root, TextWriter stdout)
    {
        var option = root.Options.OfType<VersionOption>().Single();
        option.Action = new PrintAction(stdout);
    }

    private sealed class PrintAction(TextWriter stdout) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            foreach (var line in Lines()) stdout.WriteLine(line);
            return CliErrors.Ok;
        }
    }
}
