using System.Diagnostics;

namespace CnnLab.Tests;

/// <summary>Runs a program to its end with a time limit and captures what it printed (the packaging and example tests).</summary>
public static class ChildProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        /// <summary>For assertion messages: the exit code and the end of both streams.</summary>
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Tail(Stdout)}\n--- stderr\n{Tail(Stderr)}";

        private static string Tail(string s) => s.Length <= 4000 ? s : "…" + s[^4000..];
    }

    /// <summary>
    /// Runs <paramref name="program"/> in <paramref name="workingDirectory"/>; <paramref name="environment"/> entries with a
    /// null value are removed from the child's environment. A child still running after <paramref name="limit"/> is killed
    /// with its descendants and reported as exit code -1.
    /// </summary>
    public static Result Run(string program, IEnumerable<string> args, string workingDirectory, TimeSpan limit,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        var psi = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        // The child must not join the test host's MSBuild node reuse or print telemetry banners into what is checked.
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
            if (value is null) psi.Environment.Remove(key);
            else psi.Environment[key] = value;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(limit))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            return new Result(-1, stdout.Result, stderr.Result + $"\n(killed after {limit.TotalSeconds:0} s)");
        }
        p.WaitForExit();
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>The repository root: the folder above the test binaries that holds CnnLab.slnx.</summary>
    public static string RepoRoot { get; } = FindRoot();

    /// <summary>Debug or Release: the configuration these tests were built in, which the children reuse.</summary>
    public static string Configuration { get; } =
        AppContext.BaseDirectory.Split(Path.DirectorySeparatorChar).Contains("Debug") ? "Debug" : "Release";

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "CnnLab.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"no CnnLab.slnx above {AppContext.BaseDirectory}");
    }
}
