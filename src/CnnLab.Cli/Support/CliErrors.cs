using CnnLab.IO;

namespace CnnLab.Cli.Support;

/// <summary>Exit codes and the one place where errors become one-line messages.</summary>
public static class CliErrors
{
    public const int Ok = 0;

    /// <summary>Training stopped by the NaN/Inf guard.</summary>
    public const int Diverged = 3;

    /// <summary>Bad input: arguments, files, specs.</summary>
    public const int BadInput = 2;

    /// <summary>Interrupted by Ctrl-C (128 + SIGINT).</summary>
    public const int Interrupted = 130;

    /// <summary>A bug: an exception no input should cause (sysexits' EX_SOFTWARE). The suite fails on any.</summary>
    public const int InternalError = 70;

    // A message longer than this is cut: one line on a terminal, not megabytes of names.
    private const int MaxMessage = 1000;

    /// <summary>Runs <paramref name="action"/>, turning user errors into "cnnlab: message" and exit code 2.</summary>
    public static int Guard(TextWriter stderr, Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is InvalidFileException or UsageException or ArgumentException or IOException
            or UnauthorizedAccessException)
        {
            stderr.WriteLine($"cnnlab: {OneLine(e.Message)}");
            return BadInput;
        }
        catch (OutOfMemoryException)
        {
            stderr.WriteLine("cnnlab: out of memory: the model, batch or data is larger than this machine can hold " +
                "(lower --batch-size, or the CNNLAB_MAX_* budgets let it through)");
            return BadInput;
        }
        catch (Exception e)
        {
            // Input is checked before use; reaching here is a bug in CnnLab, said as one line (the trace on request).
            stderr.WriteLine($"cnnlab: internal error ({e.GetType().Name}: {OneLine(e.Message)}); please report it, " +
                "with CNNLAB_DEBUG=1 for the stack trace");
            if (Environment.GetEnvironmentVariable("CNNLAB_DEBUG") == "1") stderr.WriteLine(e);
            return InternalError;
        }
    }

    /// <summary>The message on one line, cut to <see cref="MaxMessage"/> characters.</summary>
    public static string OneLine(string message)
    {
        var line = message.ReplaceLineEndings(" ");
        return line.Length <= MaxMessage ? line : $"{line[..MaxMessage]}… ({line.Length - MaxMessage:N0} more characters)";
    }
}

/// <summary>A command-line usage error (bad option value, missing file, unwritable folder).</summary>
public sealed class UsageException(string message) : Exception(message);
