using System.Text.Json;
using CnnLab.IO;
using CnnLab.Training;

namespace CnnLab.Web;

/// <summary>
/// The run folders under <c>--runs</c>: every subfolder that holds a checkpoint or a metrics log, from <c>cnnlab train</c> or
/// the Playground, or a writer's lock (a run in its first epoch, before either is written). A run is named by its folder's
/// name, looked up among the subfolders, so no request can name a path outside the runs folder. Only reads: the folder's
/// writer keeps its lock (<see cref="RunFolder"/>).
/// </summary>
internal sealed class RunCatalog(ServeOptions options)
{
    /// <summary>The files of a run a page may download.</summary>
    public static readonly string[] Files =
        [Checkpoint.ModelFile, Checkpoint.OptimizerFile, Checkpoint.ConfigFile, Checkpoint.StateFile, RunFolder.MetricsFile];

    public string Root { get; } = Path.GetFullPath(options.RunsDirectory);

    public IEnumerable<string> Names() =>
        !Directory.Exists(Root) ? [] :
            Directory.EnumerateDirectories(Root)
                .Where(d => RunFolder.HoldsRun(d) || File.Exists(Path.Combine(d, RunFolder.LockFile)))
                .Select(d => Path.GetFileName(d)!)
                .Order(StringComparer.Ordinal);

    /// <summary>The folder of run <paramref name="name"/>, or null when there is no such run.</summary>
    public string? Folder(string name) => Names().Contains(name, StringComparer.Ordinal) ? Path.Combine(Root, name) : null;

    /// <summary>What the runs list shows of one run; a damaged config is shown as its error, not a failed list.</summary>
    public object Summary(string name)
    {
        string dir = Path.Combine(Root, name);
        var (config, error) = ReadConfig(dir);
        var metrics = ReadMetrics(dir, 0).Lines;
        string? last = metrics.LastOrDefault();
        double? testAcc = null;
        if (last is not null)
        {
            using var doc = JsonDocument.Parse(last);
            if (doc.RootElement.TryGetProperty("test_acc", out var acc) && acc.ValueKind == JsonValueKind.Number) testAcc = acc.GetDouble();
        }
        return new
        {
            name, model = config?.Model, init = config?.Init, optimizer = config?.Optimizer, lr = config?.Lr, epochs = config?.Epochs,
            epochs_done = metrics.Count, test_acc = testAcc, checkpoint = Checkpoint.Exists(dir), writing = RunFolder.IsBeingWritten(dir),
            config_error = error, modified = Directory.GetLastWriteTimeUtc(dir),
        };
    }

    /// <summary>The run's config.json, read as a user's file (null and the one-line error when it is damaged or missing).</summary>
    public static (TrainingConfig? Config, string? Error) ReadConfig(string dir)
    {
        string path = Path.Combine(dir, Checkpoint.ConfigFile);
        if (!File.Exists(path)) return (null, "no config.json yet (the first checkpoint writes it)");
        try { return (TrainingConfig.FromJson(Budgets.ReadTextFile(path, "config"), path), null); }
        catch (Exception e) when (e is InvalidFileException or IOException or ArgumentException or UnauthorizedAccessException)
        {
            return (null, e.Message.ReplaceLineEndings(" "));
        }
    }

    /// <summary>
    /// The complete lines of metrics.jsonl from byte <paramref name="offset"/> on, and the offset after the last complete line
    /// (a line the trainer is still writing is read next time). Lines that are not JSON objects are skipped.
    /// </summary>
    public static (List<string> Lines, long Next) ReadMetrics(string dir, long offset)
    {
        string path = Path.Combine(dir, RunFolder.MetricsFile);
        var lines = new List<string>();
        if (!File.Exists(path)) return (lines, 0);
        byte[] bytes;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            if (offset > stream.Length) offset = 0;   // the file was replaced (a new run in the folder): read it from the start
            long size = Math.Min(stream.Length - offset, Budgets.MaxTextFileBytes);
            stream.Position = offset;
            bytes = new byte[size];
            stream.ReadExactly(bytes);
        }
        int end = Array.LastIndexOf(bytes, (byte)'\n') + 1;
        foreach (var line in System.Text.Encoding.UTF8.GetString(bytes, 0, end).Split('\n'))
            if (IsJsonObject(line)) lines.Add(line.Trim());
        return (lines, offset + end);
    }

    private static bool IsJsonObject(string line)
    {
        if (string.IsNullOrWhiteSpace(line)) return false;
        try
        {
            using var doc = JsonDocument.Parse(line);
            return doc.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException) { return false; }
    }
}
