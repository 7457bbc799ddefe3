using System.Text.Json;
using System.Text.Json.Serialization;
using CnnLab.IO;
using CnnLab.Kernels;

namespace CnnLab.Training;

/// <summary>
/// Everything that defines a training run; written to <c>config.json</c> in every checkpoint so a
/// run can be resumed or reproduced. Defaults are CnnLab's recommended recipe (AdamW, lr 1e-3,
/// weight decay 1e-2 on weights only, cosine schedule, batch 64, 5 epochs: 91.8% test accuracy on Fashion-MNIST with cnn-small).
/// </summary>
public sealed record TrainingConfig
{
    /// <summary>Zoo name (e.g. "cnn-small") or path of a JSON model spec.</summary>
    public string Model { get; init; } = "cnn-small";

    /// <summary>Init scheme name (see <c>CnnLab.Init.InitScheme</c>).</summary>
    public string Init { get; init; } = "pytorch-default";

    /// <summary>sgd | adam | adamw | adamw-paper | rmsprop.</summary>
    public string Optimizer { get; init; } = "adamw";

    public double Lr { get; init; } = 1e-3;

    /// <summary>Weight decay λ; null means the optimizer's PyTorch default (AdamW 1e-2, others 0).</summary>
    public double? WeightDecay { get; init; }

    public double Momentum { get; init; } = 0.9;

    public bool Nesterov { get; init; }

    /// <summary>none | cosine | step | onecycle | warmup-cosine.</summary>
    public string Schedule { get; init; } = "cosine";

    public int Epochs { get; init; } = 5;

    public int BatchSize { get; init; } = 64;

    public long Seed { get; init; }

    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Apply weight decay to every parameter (as a plain PyTorch optimizer does) instead of weights only.</summary>
    public bool DecayAll { get; init; }

    public bool Shuffle { get; init; } = true;

    /// <summary>Random crop (padding 2) and horizontal flip on training images.</summary>
    public bool Augment { get; init; }

    /// <summary>Stop after this many optimizer steps (even mid-epoch); null for no limit.</summary>
    public long? MaxSteps { get; init; }

    /// <summary>Start from these weights (safetensors) instead of an init scheme.</summary>
    public string? InitFrom { get; init; }

    /// <summary>max | avg | conv (the zoo's CNNs).</summary>
    public string Pool { get; init; } = "max";

    /// <summary>before-pool | after-pool.</summary>
    public string ReluOrder { get; init; } = "before-pool";

    /// <summary>Label smoothing of the cross-entropy.</summary>
    public float LabelSmoothing { get; init; }

    /// <summary>Where the data came from (filled in by the caller, for the record).</summary>
    public string? Data { get; init; }

    /// <summary>
    /// The JSON spec itself when <see cref="Model"/> names a spec file, saved with the run so that its checkpoint
    /// builds the same model from any folder, whatever becomes of the file (null for zoo models).
    /// </summary>
    public string? ModelSpecJson { get; init; }

    /// <summary>Checks every value, naming the field and what was expected.</summary>
    public void Validate()
    {
        static void Check(bool ok, string message)
        {
            if (!ok) throw new ArgumentException(message);
        }
        Check(Epochs >= 1, $"--epochs must be at least 1, got {Epochs}");
        Check(BatchSize >= 1 && BatchSize <= 65536, $"--batch-size must be between 1 and 65536, got {BatchSize}");
        Check(Lr > 0 && double.IsFinite(Lr), $"--lr must be a positive number, got {Lr}");
        Check(WeightDecay is null || (WeightDecay >= 0 && double.IsFinite(WeightDecay.Value)), $"--weight-decay must be >= 0, got {WeightDecay}");
        Check(Momentum >= 0 && Momentum < 1, $"--momentum must be in [0, 1), got {Momentum}");
        Check(Threads >= 1 && Threads <= Parallelism.MaxThreadsLimit,
            $"--threads must be between 1 and {Parallelism.MaxThreadsLimit}, got {Threads}");
        Check(MaxSteps is null || MaxSteps >= 1, $"--max-steps must be at least 1, got {MaxSteps}");
        Check(LabelSmoothing is >= 0 and < 1, $"--label-smoothing must be in [0, 1), got {LabelSmoothing}");
        Check(OptimizerFactory.Optimizers.Contains(Optimizer),
            $"--optimizer '{Optimizer}' is unknown: expected {string.Join(", ", OptimizerFactory.Optimizers)}");
        Check(OptimizerFactory.Schedules.Contains(Schedule),
            $"--schedule '{Schedule}' is unknown: expected {string.Join(", ", OptimizerFactory.Schedules)}");
        Check(!Nesterov || Optimizer == "sgd", "--nesterov applies to --optimizer sgd only");
        Check(!Nesterov || Momentum > 0, "--nesterov requires --momentum > 0");
    }

    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static TrainingConfig FromJson(string json, string path)
    {
        TrainingConfig config;
        try
        {
            config = JsonSerializer.Deserialize<TrainingConfig>(json, Json) ?? throw new InvalidFileException(path, "config is null");
        }
        catch (JsonException e)
        {
            throw new InvalidFileException(path, $"not a valid training config: {e.Message}");
        }
        // A file CnnLab wrote is still input: every field is checked as the command line's options are.
        foreach (var (field, value) in new[] { ("model", config.Model), ("init", config.Init), ("optimizer", config.Optimizer),
                     ("schedule", config.Schedule), ("pool", config.Pool), ("relu_order", config.ReluOrder) })
            if (string.IsNullOrWhiteSpace(value)) throw new InvalidFileException(path, $"field '{field}' must be a non-empty string");
        try { config.Validate(); }
        catch (ArgumentException e) { throw new InvalidFileException(path, e.Message.Replace("--", "field ", StringComparison.Ordinal)); }
        return config;
    }
}
