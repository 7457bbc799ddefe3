using CnnLab.IO;

namespace CnnLab.Training;

/// <summary>
/// The owner of a run's folder (its checkpoint and <c>metrics.jsonl</c>) while it writes there: one writer at a time holds
/// an exclusive lock on <c>.lock</c>, which the operating system releases if the process dies (an advisory
/// <c>flock</c> on Unix, a share lock on Windows), so a killed run never leaves the folder locked. Readers
/// (<see cref="Checkpoint.Load"/>, eval, predict, export) never take it and never modify the folder.
/// </summary>
public sealed class RunFolder : IDisposable
{
    /// <summary>The lock file's name.</summary>
    public const string LockFile = ".lock";

    /// <summary>The metrics log a run appends one line per epoch to.</summary>
    public const string MetricsFile = "metrics.jsonl";

    private readonly FileStream _lock;

    private RunFolder(string path, FileStream lockStream)
    {
        Path = path;
        _lock = lockStream;
    }

    /// <summary>The folder.</summary>
    public string Path { get; }

    /// <summary>
    /// Creates <paramref name="dir"/> if needed and takes its lock, finishing a commit an earlier writer was killed in
    /// (<see cref="Checkpoint.Recover"/>). Fails with a one-line message when another process holds it.
    /// </summary>
    public static RunFolder Claim(string dir)
    {
        Directory.CreateDirectory(dir);
        var path = System.IO.Path.Combine(dir, LockFile);
        FileStream stream;
        // A reader's probe (IsBeingWritten) holds a shared lock for a moment: a busy lock is tried again for a second
        // before it counts as another writer's.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                break;
            }
            catch (IOException) when (File.Exists(path))
            {
                if (clock.Elapsed > TimeSpan.FromSeconds(1))
                    throw new InvalidFileException(dir, "another cnnlab process is writing this run folder (it holds .lock); " +
                        "wait for it to finish, or give this run another --out");
                Thread.Sleep(10);
            }
        }
        var folder = new RunFolder(dir, stream);
        try
        {
            Checkpoint.Recover(dir);
        }
        catch
        {
            folder.Dispose();
            throw;
        }
        return folder;
    }

    /// <summary>True while some process holds <paramref name="dir"/>'s lock (tested without creating or changing anything).</summary>
    public static bool IsBeingWritten(string dir)
    {
        var path = System.IO.Path.Combine(dir, LockFile);
        if (!File.Exists(path)) return false;
        try
        {
            using var probe = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            return false;
        }
        catch (IOException) { return true; }
        catch (UnauthorizedAccessException) { return false; }
    }

    /// <summary>True when <paramref name="dir"/> holds a run: a checkpoint (or a commit to finish) or a metrics log.</summary>
    public static bool HoldsRun(string dir) =>
        Checkpoint.Exists(dir) || File.Exists(System.IO.Path.Combine(dir, MetricsFile));

    /// <summary>Deletes the previous run's files (the checkpoint's, its journal and temporaries, the metrics log), nothing else.</summary>
    public void ClearPreviousRun()
    {
        Checkpoint.Delete(Path);
        var metrics = System.IO.Path.Combine(Path, MetricsFile);
        if (File.Exists(metrics)) File.Delete(metrics);
    }

    /// <summary>Releases the lock (the lock file stays: deleting it could race with the next writer's claim).</summary>
    public void Dispose() => _lock.Dispose();
}
