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

    /// <summary>Runs <paramref name="action"/>, turning user errors into "cnnlab: message" and exit code 2.</summary>
    public static int Guard(TextWriter stderr, Func<int> action)
    {
        try
        {
            return action();
        }
        catch (InvalidFileException e)
        {
            stderr.WriteLine($"cnnlab: {e.Message}");
            return BadInput;
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"cnnlab: {e.Message}");
            return BadInput;
        }
        catch (ArgumentException e)
        {
            stderr.WriteLine($"cnnlab: {e.Message}");
            return BadInput;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"cnnlab: {e.Message}");
            return BadInput;
        }
    }
}

/// <summary>A command-line usage error (bad option value, missing file, unwritable folder).</summary>
public sealed class UsageException(string message) : Exception(message);
