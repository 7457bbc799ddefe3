using System.Text.Json;
using CnnLab.Nn;
using CnnLab.Optim;
using CnnLab.Serialization;
using CnnLab.Tensors;
using CnnLab.IO;

namespace CnnLab.Training;

/// <summary>Progress saved with a checkpoint (<c>state.json</c>).</summary>
/// <param name="Epoch">Epochs fully completed.</param>
/// <param name="BatchInEpoch">Batches of the next epoch already done (non-zero after an interrupt or --max-steps).</param>
/// <param name="Step">Optimizer steps taken in total.</param>
/// <param name="ModelGenerator">State of the model's generator (dropout draws continue from it).</param>
/// <param name="Version">Format version of this file.</param>
/// <param name="Commit">The save this state belongs to; the two safetensors files carry the same id in their metadata.</param>
public sealed record TrainingState(int Epoch, int BatchInEpoch, long Step, ulong[] ModelGenerator, string Version = "1",
    string? Commit = null);

/// <summary>
/// A checkpoint folder: <c>model.safetensors</c> (state-dict names as PyTorch's, BatchNorm's
/// num_batches_tracked as I64), <c>optimizer.safetensors</c> (moment buffers and steps; group
/// hyper-parameters in its metadata), <c>config.json</c> and <c>state.json</c>.
/// <para>
/// Writing is crash-consistent: the four files are written as temporary files and flushed to disk,
/// then a journal (<c>.commit.json</c>) listing the renames is written atomically, then the files are
/// renamed into place and the journal removed. A crash before the journal leaves the previous
/// checkpoint untouched (the temporaries are ignored, then cleaned by the next writer); a crash after it
/// is read through the journal by <see cref="Load"/> and rolled forward by the next writer
/// (<see cref="RunFolder.Claim"/>). So the folder always holds one whole checkpoint.
/// </para>
/// <para>
/// Only the writer holding the folder's <see cref="RunFolder"/> saves, recovers or deletes; <see cref="Load"/> changes
/// nothing. Every save has a commit id, stored in <c>state.json</c> and in both safetensors files' metadata, so a reader
/// that meets a save in progress (files from two saves) sees it and reads again.
/// </para>
/// </summary>
public static class Checkpoint
{
    public const string ModelFile = "model.safetensors";
    public const string OptimizerFile = "optimizer.safetensors";
    public const string ConfigFile = "config.json";
    public const string StateFile = "state.json";
    private const string Journal = ".commit.json";
    private static readonly string[] Files = [ModelFile, OptimizerFile, ConfigFile, StateFile];

    /// <summary>The names of integer buffers that PyTorch stores as int64.</summary>
    public static HashSet<string> Int64Names(Module model) =>
        model.StateDict().Keys.Where(k => k.EndsWith("num_batches_tracked", StringComparison.Ordinal)).ToHashSet();

    /// <summary>Saves model weights alone as safetensors (atomically).</summary>
    public static void SaveWeights(string path, Module model, IReadOnlyDictionary<string, string>? metadata = null) =>
        SafeTensors.Save(path, model.StateDict(), metadata, Int64Names(model));

    /// <summary>
    /// Writes a whole checkpoint into <paramref name="dir"/> (created if needed). The caller holds the folder
    /// (<see cref="RunFolder.Claim"/>): a temporary that vanishes before the commit is an error, not a skipped file.
    /// </summary>
    public static void Save(string dir, Module model, Optimizer optimizer, TrainingConfig config, TrainingState state)
    {
        Directory.CreateDirectory(dir);
        var optState = optimizer.StateDict();
        // Saves of one run differ in step (a folder holds one run: RunFolder), and the same state gives the same bytes.
        string commit = $"{state.Epoch}-{state.BatchInEpoch}-{state.Step}";
        state = state with { Commit = commit };
        var meta = new Dictionary<string, string> { ["format"] = "cnnlab-checkpoint-1", ["commit"] = commit };
        var optMeta = new Dictionary<string, string>
        {
            ["param_groups"] = optState.ParamGroupsToJson(), ["optimizer"] = optimizer.GetType().Name, ["commit"] = commit,
        };
        var temps = Files.ToDictionary(f => f, f => Path.Combine(dir, $".{f}.{Environment.ProcessId}.tmp"));
        try
        {
            WriteFlushed(temps[ModelFile], s => SafeTensors.Write(s, model.StateDict(), meta, Int64Names(model)));
            WriteFlushed(temps[OptimizerFile], s => SafeTensors.Write(s, optState.ToTensors(), optMeta));
            WriteFlushed(temps[ConfigFile], s => s.Write(System.Text.Encoding.UTF8.GetBytes(config.ToJson())));
            WriteFlushed(temps[StateFile], s => s.Write(JsonSerializer.SerializeToUtf8Bytes(state, TrainingConfig.Json)));
            foreach (var temp in temps.Values)
                if (!File.Exists(temp))
                    throw new IOException($"{temp}: a checkpoint temporary vanished before its commit (another process changed {dir})");
            var journal = temps.ToDictionary(kv => Path.GetFileName(kv.Value), kv => kv.Key);
            AtomicFile.Write(Path.Combine(dir, Journal), s => s.Write(JsonSerializer.SerializeToUtf8Bytes(journal)));
        }
        catch
        {
            foreach (var t in temps.Values) TryDelete(t);
            throw;
        }
        RollForward(dir, recovering: false);
    }

    private static void WriteFlushed(string path, Action<Stream> write)
    {
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        write(fs);
        fs.Flush(flushToDisk: true);
    }

    /// <summary>
    /// For the writer that has just claimed <paramref name="dir"/>: finishes a commit a killed writer left (every temporary
    /// the journal names is complete) and deletes temporaries of saves that never reached their journal.
    /// </summary>
    internal static void Recover(string dir)
    {
        RollForward(dir, recovering: true);
        foreach (var stale in Directory.GetFiles(dir, ".*.tmp")) TryDelete(stale);
    }

    /// <summary>For the writer of <paramref name="dir"/>: deletes the checkpoint's files, journal and temporaries.</summary>
    internal static void Delete(string dir)
    {
        foreach (var f in Files.Append(Journal)) TryDelete(Path.Combine(dir, f));
        foreach (var stale in Directory.GetFiles(dir, ".*.tmp")) TryDelete(stale);
    }

    // Renames the journal's temporaries into place. Recovering from a killed commit, a temporary may already have
    // been renamed (its final file is there); in a commit of our own, every one must still exist.
    private static void RollForward(string dir, bool recovering)
    {
        var journalPath = Path.Combine(dir, Journal);
        if (!File.Exists(journalPath)) return;
        foreach (var (temp, final) in ReadJournal(journalPath))
        {
            var src = Path.Combine(dir, temp);
            if (File.Exists(src)) File.Move(src, Path.Combine(dir, final), overwrite: true);
            else if (!recovering || !File.Exists(Path.Combine(dir, final)))
                throw new IOException($"{src}: a checkpoint temporary vanished during its commit (another process changed {dir})");
        }
        File.Delete(journalPath);
    }

    private static Dictionary<string, string> ReadJournal(string journalPath)
    {
        Dictionary<string, string>? renames;
        try { renames = JsonSerializer.Deserialize<Dictionary<string, string>>(Budgets.ReadTextFile(journalPath, "checkpoint journal")); }
        catch (JsonException e) { throw new InvalidFileException(journalPath, $"corrupt checkpoint journal: {e.Message}"); }
        foreach (var (temp, final) in renames ?? [])
            if (!Files.Contains(final) || temp.Contains('/') || temp.Contains('\\') || !temp.StartsWith('.'))
                throw new InvalidFileException(journalPath, $"journal names an unexpected file '{temp}' → '{final}'");
        return renames ?? [];
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>True when <paramref name="dir"/> holds a checkpoint (or a commit to finish).</summary>
    public static bool Exists(string dir) =>
        File.Exists(Path.Combine(dir, StateFile)) || File.Exists(Path.Combine(dir, Journal));

    /// <summary>What <see cref="Load"/> reads.</summary>
    /// <param name="Config">config.json.</param>
    /// <param name="State">state.json.</param>
    /// <param name="Weights">model.safetensors.</param>
    /// <param name="OptimizerState">optimizer.safetensors.</param>
    /// <param name="OptimizerName">The optimizer class whose state <c>optimizer.safetensors</c> holds (null in old checkpoints).</param>
    public sealed record Contents(TrainingConfig Config, TrainingState State,
        OrderedDictionary<string, Tensor> Weights, OptimizerStateDict OptimizerState, string? OptimizerName = null);

    // How long a reader waits for a save in progress to finish before it gives up.
    private static readonly TimeSpan SaveWait = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Reads a checkpoint folder without changing anything in it. A commit a killed writer left is read through its
    /// journal; a save in progress (the folder's lock held, files from two saves) is waited for.
    /// </summary>
    public static Contents Load(string dir)
    {
        if (!Directory.Exists(dir)) throw new InvalidFileException(dir, "checkpoint folder does not exist");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            bool writing = RunFolder.IsBeingWritten(dir);
            if (!(writing && File.Exists(Path.Combine(dir, Journal))))
            {
                // A writer active before or after the read may have moved files under it (its last save included): the
                // read is then made again; with no writer, what was read is what the folder holds.
                try
                {
                    var contents = Read(dir, out string? mismatch);
                    if (mismatch is null) return contents;
                    if (!writing && !RunFolder.IsBeingWritten(dir)) throw new InvalidFileException(dir, mismatch);
                }
                catch (Exception e) when (e is InvalidFileException or IOException && (writing || RunFolder.IsBeingWritten(dir))
                    && clock.Elapsed < SaveWait)
                {
                }
            }
            if (clock.Elapsed > SaveWait)
                throw new InvalidFileException(dir, $"a save in progress did not finish within {SaveWait.TotalSeconds:0} s");
            Thread.Sleep(20);
        }
    }

    // The path to read for each file: the journal's temporary where a killed commit left one, else the file itself.
    private static Dictionary<string, string> Sources(string dir)
    {
        var sources = Files.ToDictionary(f => f, f => Path.Combine(dir, f));
        var journalPath = Path.Combine(dir, Journal);
        if (File.Exists(journalPath))
            foreach (var (temp, final) in ReadJournal(journalPath))
                if (File.Exists(Path.Combine(dir, temp))) sources[final] = Path.Combine(dir, temp);
        return sources;
    }

    private static Contents Read(string dir, out string? mismatch)
    {
        var sources = Sources(dir);
        foreach (var f in Files)
            if (!File.Exists(sources[f]))
                throw new InvalidFileException(sources[f],
                    "missing: a checkpoint folder needs model.safetensors, optimizer.safetensors, config.json and state.json");
        var configPath = sources[ConfigFile];
        var config = TrainingConfig.FromJson(Budgets.ReadTextFile(configPath, "training config"), configPath);
        var state = ReadState(sources[StateFile]);
        var model = SafeTensors.Load(sources[ModelFile]);
        var optPath = sources[OptimizerFile];
        var opt = SafeTensors.Load(optPath);
        if (!opt.Metadata.TryGetValue("param_groups", out var groups))
            throw new InvalidFileException(optPath, "metadata field 'param_groups' is missing");
        OptimizerStateDict optState;
        try { optState = OptimizerStateDict.FromTensors(opt.Tensors, groups); }
        catch (Exception e) when (e is ArgumentException or JsonException or FormatException or InvalidOperationException)
        {
            throw new InvalidFileException(optPath, $"invalid optimizer state: {e.Message}");
        }
        mismatch = null;
        if (state.Commit is not null)
        {
            model.Metadata.TryGetValue("commit", out var modelCommit);
            opt.Metadata.TryGetValue("commit", out var optCommit);
            if (modelCommit != state.Commit || optCommit != state.Commit)
                mismatch = $"holds files from different saves (state.json is save '{state.Commit}', {ModelFile} " +
                    $"'{modelCommit ?? "none"}', {OptimizerFile} '{optCommit ?? "none"}')";
        }
        opt.Metadata.TryGetValue("optimizer", out var optimizerName);
        return new Contents(config, state, model.Tensors, optState, optimizerName);
    }

    private static TrainingState ReadState(string statePath)
    {
        TrainingState state;
        try
        {
            state = JsonSerializer.Deserialize<TrainingState>(Budgets.ReadTextFile(statePath, "training state"), TrainingConfig.Json)
                ?? throw new InvalidFileException(statePath, "state is null");
        }
        catch (JsonException e) { throw new InvalidFileException(statePath, $"not a valid training state: {e.Message}"); }
        if (state.Epoch < 0 || state.BatchInEpoch < 0 || state.Step < 0 || state.ModelGenerator is not { Length: 7 })
            throw new InvalidFileException(statePath, "fields epoch, batch_in_epoch, step must be >= 0 and model_generator must hold 7 words");
        return state;
    }
}
