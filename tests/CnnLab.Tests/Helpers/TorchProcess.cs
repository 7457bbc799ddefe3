using System.Diagnostics;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// Runs Debian's PyTorch (<c>python3-torch</c>: /usr/bin/python3 and /usr/bin/torchrun) for the tests of
/// <c>cnnlab export pytorch</c>. A missing PyTorch fails the test (it is never skipped): .ci/run installs it.
/// </summary>
public static class TorchProcess
{
    public const string Python = "/usr/bin/python3";
    public const string Torchrun = "/usr/bin/torchrun";

    /// <summary>Fails the test, saying how to install it, when Debian's PyTorch is missing.</summary>
    public static void Require()
    {
        Assert.True(File.Exists(Python) && File.Exists(Torchrun) && Run(Python, ["-c", "import torch"], ".", 120).ExitCode == 0,
            "PyTorch is needed for this test: apt-get install python3-torch (.ci/run installs it)");
    }

    /// <summary>Fails the test when Pillow, which the projects' data.py uses for image folders, is missing.</summary>
    public static void RequirePillow()
    {
        Require();
        Assert.True(Run(Python, ["-c", "import PIL"], ".", 120).ExitCode == 0,
            "Pillow is needed for this test: apt-get install python3-pil (.ci/run installs it)");
    }

    /// <summary>Runs <paramref name="file"/> with <paramref name="args"/> in <paramref name="dir"/>; the output is stdout + stderr.</summary>
    public static (int ExitCode, string Output) Run(string file, IEnumerable<string> args, string dir, int timeoutSeconds)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        // One thread per process: the tests share the machine's cores with each other.
        psi.Environment["OMP_NUM_THREADS"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromSeconds(timeoutSeconds)))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            // What it printed until then: where a launch stops is the only clue to why.
            string printed = stdout.Result + stderr.Result;
            Assert.Fail($"{file} {string.Join(' ', args)} ran past {timeoutSeconds} s; it printed:\n"
                + (printed.Length <= 4000 ? printed : "…" + printed[^4000..]));
        }
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
