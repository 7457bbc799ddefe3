using System.Text.Json.Nodes;

namespace CnnLab.Lab.Sweeps;

/// <summary>
/// What every cell of a sweep spends and measures: optimizer steps, the learning-rate schedule over them, how many times
/// train and test accuracy are measured (at steps round(steps·k / checkpoints), k = 1..checkpoints), and which images.
/// The training images are the first <see cref="TrainImages"/> of a permutation drawn from <see cref="DataSeed"/> (the
/// same for every cell, so cells differ only in their own axes); train accuracy is measured on the first
/// <see cref="TrainEvalImages"/> of them, test accuracy on the first <see cref="TestImages"/> test images.
/// </summary>
public sealed record SweepBudget(int Steps, int Checkpoints, string Schedule, int TrainImages, int TrainEvalImages, int TestImages, long DataSeed)
{
    /// <summary>The defaults of a grid file's "budget" object.</summary>
    public static SweepBudget Default { get; } = new(200, 4, "none", int.MaxValue, 1000, int.MaxValue, 7);

    /// <summary>The most steps a cell may take (a typo of a few zeros is an error, not a week of training).</summary>
    public const int MaxSteps = 10_000_000;

    /// <summary>Optimizer steps at which accuracy is measured.</summary>
    public int[] CheckpointSteps => Enumerable.Range(1, Checkpoints).Select(k => (int)Math.Round((double)Steps * k / Checkpoints)).ToArray();

    public JsonObject ToJson() => new()
    {
        ["steps"] = Steps, ["checkpoints"] = Checkpoints, ["schedule"] = Schedule, ["train_images"] = TrainImages,
        ["train_eval_images"] = TrainEvalImages, ["test_images"] = TestImages, ["data_seed"] = DataSeed,
    };
}
