using System.Text.Json;
using System.Text.Json.Serialization;
using CnnLab.IO;
using CnnLab.Data;
using CnnLab.Kernels;
using CnnLab.Tensors;

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

    /// <summary>Random crop (padding 2) and horizontal flip on training images, or what <see cref="Augmentations"/> lists.</summary>
    public bool Augment { get; init; }

    /// <summary>The augmentations when <see cref="Augment"/> is on (<see cref="Augmentation.Parse"/>; null: crop and flip).</summary>
    public string? Augmentations { get; init; }

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

    // What the model was trained on, so that eval, predict, visualize and export prepare images the same way. The Trainer
    // fills them from the data; a config without them (written before they existed) means Fashion-MNIST's.

    /// <summary>[C, H, W] of the model's input images (null: 1x28x28).</summary>
    public int[]? InputShape { get; init; }

    /// <summary>Images were scaled to cover the input size and centre-cropped rather than stretched.</summary>
    public bool CenterCrop { get; init; }

    /// <summary>Share of a class-folder set without splits held out for testing.</summary>
    public double? ValSplit { get; init; }

    /// <summary>Per-channel means of the normalization (null: Fashion-MNIST's).</summary>
    public float[]? NormalizeMean { get; init; }

    /// <summary>Per-channel stds of the normalization (null: Fashion-MNIST's).</summary>
    public float[]? NormalizeStd { get; init; }

    /// <summary>The class names, by label (null: Fashion-MNIST's ten).</summary>
    public string[]? ClassNames { get; init; }

    /// <summary>idx | embedded | cifar-10 | cifar-100 | image-folder (null: idx).</summary>
    public string? DataFormat { get; init; }

    /// <summary>The input shape, [1, 28, 28] when the config does not say.</summary>
    [JsonIgnore]
    public int[] Input => InputShape ?? [1, 28, 28];

    /// <summary>The normalization the model was trained with.</summary>
    [JsonIgnore]
    public Normalize Normalization => NormalizeMean is null || NormalizeStd is null ? Normalize.FashionMnist : new(NormalizeMean, NormalizeStd);

    /// <summary>The class names, Fashion-MNIST's when the config does not say.</summary>
    [JsonIgnore]
    public IReadOnlyList<string> Classes => ClassNames ?? FashionMnist.ClassNames;

    /// <summary>How an image file becomes this model's input.</summary>
    [JsonIgnore]
    public ImagePreprocessing Preprocessing => new(Input[0], Input[1], Input[2], CenterCrop);

    /// <summary>The options that read the data as this run did.</summary>
    [JsonIgnore]
    public DatasetOptions DataOptions => new()
    {
        Channels = Input[0], Height = Input[1], Width = Input[2], CenterCrop = CenterCrop, ValSplit = ValSplit, Seed = Seed,
        Normalize = Normalization,
    };

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
        Check(InputShape is null || (InputShape.Length == 3 && InputShape[0] is 1 or 3 && InputShape[1] is >= 1 and <= 4096
            && InputShape[2] is >= 1 and <= 4096), $"--input must be 1 or 3 channels and sides 1..4096, got {Shape.Format(InputShape ?? [])}");
        Check((NormalizeMean is null) == (NormalizeStd is null), "normalize_mean and normalize_std must be given together");
        if (NormalizeMean is not null)
        {
            try { new Normalize(NormalizeMean, NormalizeStd!).CheckChannels(Input[0]); }
            catch (ArgumentException e) { throw new ArgumentException($"--normalize: {e.Message}"); }
        }
        Check(ClassNames is null || (ClassNames.Length >= 2 && ClassNames.All(n => !string.IsNullOrEmpty(n))),
            "class_names must list at least two non-empty names");
        Check(ValSplit is null || (ValSplit > 0 && ValSplit < 1), $"--val-split must be between 0 and 1, got {ValSplit}");
        if (Augmentations is not null) Augmentation.Parse(Augmentations);
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
