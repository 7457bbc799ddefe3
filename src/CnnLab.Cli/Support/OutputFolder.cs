namespace CnnLab.Cli.Support;

/// <summary>The one check every command's <c>--out</c> folder gets before any work starts.</summary>
internal static class OutputFolder
{
    /// <summary>Creates <paramref name="dir"/> if needed and proves it writable, or fails with a one-line usage error naming
    /// <paramref name="option"/>.</summary>
    public static void Ensure(string dir, string option = "--out")
    {
        if (string.IsNullOrWhiteSpace(dir)) throw new UsageException($"{option} needs a folder name, got an empty one");
        try
        {
            Directory.CreateDirectory(dir);
            var probe = Path.Combine(dir, $".write-test-{Environment.ProcessId}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{option}: cannot write to folder '{dir}': {e.Message}");
        }
    }
}
