using System.Diagnostics;
using Xunit;

namespace CnnLab.Tests.Commands;

/// <summary>
/// Inputs over a budget are refused before they are allocated: a real <c>cnnlab</c> process given each stays small
/// (its peak resident memory, VmHWM, read from /proc while it runs) and exits with code 2.
/// </summary>
[Collection("cli")]
public class MemoryBudgetTests
{
    private const long PeakLimitBytes = 600L << 20;

    private static string CliDll => Path.Combine(AppContext.BaseDirectory, "cnnlab.dll");

    public static TheoryData<string[]> Cases() => new(
        ["models", "mlp-1000-46340-relu"],
        ["doctor", "--model", "cnn-small", "--batch", "2000000"],
        ["models", "/dev/zero"]);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task IsRefusedBeforeItIsAllocated(string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(CliDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        _ = p.StandardOutput.ReadToEndAsync();
        long peak = 0;
        while (!p.WaitForExit(5)) peak = Math.Max(peak, PeakResidentBytes(p.Id));
        string errors = await stderr;
        Assert.True(p.ExitCode == 2, $"exit {p.ExitCode}: {errors}");
        Assert.Contains("budget", errors);
        Assert.True(peak < PeakLimitBytes, $"peak resident memory {peak >> 20} MB");
    }

    private static long PeakResidentBytes(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line[6..].Trim().Split(' ')[0]) * 1024;
        }
        catch (IOException) { }
        return 0;
    }
}
