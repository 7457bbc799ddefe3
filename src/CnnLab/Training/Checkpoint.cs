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
public sealed record TrainingState(int Epoch, int BatchInEpoch, long Step, ulong[] ModelGenerator, string Version = "1");

/// <summary>
/// A checkpoint folder: <c>model.safetensors</c> (state-dict names as PyTorch's, BatchNorm's
/// num_batches_tracked as I64), <c>optimizer.safetensors</c> (moment buffers and steps; group
/// hyper-parameters in its metadata), <c>config.json</c> and <c>state.json</c>.
/// <para>
/// Writing is crash-consistent: the four files are written as temporary files and flushed to disk,
/// then a journal (<c>.commit.json</c>) listing the renames is written atomically, then the files are
/// renamed into place and the journal removed. A crash before the journal leaves the previous
/// checkpoint untouched (the temporaries are ignored and cleaned); a crash after it is rolled
/// forward by the next <see cref="Load"/>. So the folder always holds one whole checkpoint.
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

    /// <summary>Writes a whole checkpoint into <paramref name="dir"/> (created if needed).</summary>
    public static void Save(string dir, Module model, Optimizer optimizer, TrainingConfig config, TrainingState state)
    {
        Directory.CreateDirectory(dir);
        var optState = optimizer.StateDict();
        var meta = new Dictionary<string, string> { ["format"] = "cnnlab-checkpoint-1" };
        var temps = Files.ToDictionary(f => f, f => Path.Combine(dir, $".{f}.{Environment.ProcessId}.tmp"));
        try
        {
            WriteFlushed(temps[ModelFile], s => SafeTensors.Write(s, model.StateDict(), meta, Int64Names(model)));
            WriteFlushed(temps[OptimizerFile], s => SafeTensors.Write(s, optState.ToTensors(),
                new Dictionary<string, string> { ["param_groups"] = optState.ParamGroupsToJson(), ["optimizer"] = optimizer.GetType().Name }));
            WriteFlushed(temps[ConfigFile], s => s.Write(System.Text.Encoding.UTF8.GetBytes(config.ToJson())));
            WriteFlushed(temps[StateFile], s => s.Write(JsonSerializer.SerializeToUtf8Bytes(state, TrainingConfig.Json)));
            var journal = temps.ToDictionary(kv => Path.GetFileName(kv.Value), kv => kv.Key);
            AtomicFile.Write(Path.Combine(dir, Journal), s => s.Write(JsonSerializer.SerializeToUtf8Bytes(journal)));
        }
        catch
        {
            foreach (var t in temps.Values) TryDelete(t);
            throw;
        }
        RollForward(dir);
    }

    private static void WriteFlushed(string path, Action<Stream> write)
    {
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        write(fs);
        fs.Flush(flushToDisk: true);
    }

    // Completes an interrupted commit: every temporary named in the journal is complete.
    private static void RollForward(string dir)
    {
        var journalPath = Path.Combine(dir, Journal);
        if (File.Exists(journalPath))
        {
            Dictionary<string, string>? renames;
            try { renames = JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllBytes(journalPath)); }
            catch (JsonException e) { throw new InvalidFileException(journalPath, $"corrupt checkpoint journal: {e.Message}"); }
            foreach (var (temp, final) in renames ?? [])
            {
                if (!Files.Contains(final) || temp.Contains('/') || temp.Contains('\\'))
                    throw new InvalidFileException(journalPath, $"journal names an unexpected file '{temp}' → '{final}'");
                var src = Path.Combine(dir, temp);
                if (File.Exists(src)) File.Move(src, Path.Combine(dir, final), overwrite: true);
            }
            File.Delete(journalPath);
        }
        foreach (var stale in Directory.GetFiles(dir, ".*.tmp")) TryDelete(stale);
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
    public sealed record Contents(TrainingConfig Config, TrainingState State,
        OrderedDictionary<string, Tensor> Weights, OptimizerStateDict OptimizerState);

    /// <summary>Reads a checkpoint folder (finishing an interrupted commit first).</summary>
    public static Contents Load(string dir)
    {
        if (!Directory.Exists(dir)) throw new InvalidFileException(dir, "checkpoint folder does not exist");
        RollForward(dir);
        foreach (var f in Files)
            if (!File.Exists(Path.Combine(dir, f)))
                throw new InvalidFileException(Path.Combine(dir, f),
                    "missing: a checkpoint folder needs model.safetensors, optimizer.safetensors, config.json and state.json");
        var configPath = Path.Combine(dir, ConfigFile);
        var config = TrainingConfig.FromJson(File.ReadAllText(configPath), configPath);
        var statePath = Path.Combine(dir, StateFile);
        TrainingState state;
        try
        {
            state = JsonSerializer.Deserialize<TrainingState>(File.ReadAllText(statePath), TrainingConfig.Json)
                ?? throw new InvalidFileException(statePath, "state is null");
        }
        catch (JsonException e) { throw new InvalidFileException(statePath, $"not a valid training state: {e.Message}"); }
        if (state.Epoch < 0 || state.BatchInEpoch < 0 || state.Step < 0 || state.ModelGenerator is not { Length: 7 })
            throw new InvalidFileException(statePath, "fields epoch, batch_in_epoch, step must be >= 0 and model_generator must hold 7 words");
        var weights = SafeTensors.Load(Path.Combine(dir, ModelFile)).Tensors;
        var optPath = Path.Combine(dir, OptimizerFile);
        var opt = SafeTensors.Load(optPath);
        if (!opt.Metadata.TryGetValue("param_groups", out var groups))
            throw new InvalidFileException(optPath, "metadata field 'param_groups' is missing");
        OptimizerStateDict optState;
        try { optState = OptimizerStateDict.FromTensors(opt.Tensors, groups); }
        catch (Exception e) when (e is ArgumentException or JsonException or FormatException)
        {
            throw new InvalidFileException(optPath, $"invalid optimizer state: {e.Message}");
        }
        return new Contents(config, state, weights, optState);
    }
}
