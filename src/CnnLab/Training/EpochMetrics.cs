using System.Text.Json;
using System.Text.Json.Serialization;

namespace CnnLab.Training;

/// <summary>
/// One line of <c>metrics.jsonl</c>. Accuracies are fractions. <see cref="Seconds"/> and
/// <see cref="ImagesPerSec"/> are wall-clock measurements; every other field is identical between
/// runs with the same seed and thread count.
/// </summary>
public sealed record EpochMetrics(
    [property: JsonPropertyName("epoch")] int Epoch,
    [property: JsonPropertyName("train_loss")] double TrainLoss,
    [property: JsonPropertyName("train_acc")] double TrainAcc,
    [property: JsonPropertyName("test_loss")] double TestLoss,
    [property: JsonPropertyName("test_acc")] double TestAcc,
    [property: JsonPropertyName("lr")] double Lr,
    [property: JsonPropertyName("seconds")] double Seconds,
    [property: JsonPropertyName("images_per_sec")] double ImagesPerSec,
    [property: JsonPropertyName("step")] long Step)
{
    // A test loss can overflow to Inf while every weight is finite: written as "Infinity"/"NaN" rather than failing.
    private static readonly JsonSerializerOptions Options = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>One line of <c>metrics.jsonl</c> (a non-finite value as the string "NaN", "Infinity" or "-Infinity").</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Options);
}

/// <summary>Progress within an epoch, for progress bars.</summary>
public sealed record BatchProgress(int Epoch, int Epochs, int Batch, int Batches, double Loss, double Accuracy, double ImagesPerSec, TimeSpan Eta);

/// <summary>How a training run ended.</summary>
public enum TrainingStatus
{
    /// <summary>All epochs ran.</summary>
    Completed,

    /// <summary>--max-steps was reached.</summary>
    MaxStepsReached,

    /// <summary>Cancelled (Ctrl-C); a checkpoint was saved.</summary>
    Interrupted,

    /// <summary>The NaN/Inf guard stopped training; the last good checkpoint was kept.</summary>
    Diverged,
}

/// <summary>The outcome of <see cref="Trainer.Run"/>.</summary>
public sealed record TrainingResult(TrainingStatus Status, IReadOnlyList<EpochMetrics> Epochs, EvaluationResult? FinalEvaluation,
    NonFiniteReport? NonFinite, long Steps);
