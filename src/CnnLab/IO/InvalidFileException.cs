namespace CnnLab.IO;

/// <summary>
/// A file CnnLab was asked to read breaks its format's rules. The message names the file, the
/// field or rule, and what was expected; the CLI prints it on one line and exits with code 2.
/// </summary>
public sealed class InvalidFileException : Exception
{
    public InvalidFileException(string path, string problem, Exception? inner = null)
        : base($"{path}: {problem}", inner)
    {
        FilePath = path;
        Problem = problem;
    }

    /// <summary>The file that was being read.</summary>
    public string FilePath { get; }

    /// <summary>What is wrong, without the path.</summary>
    public string Problem { get; }
}
