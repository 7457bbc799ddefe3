using CnnLab.Lab.Sweeps;

namespace CnnLab.Lab.Experiments;

/// <summary>What one (method, lr, λ) training run of <see cref="AdamVsAdamWExperiment"/> measured.</summary>
internal sealed record DecayCellResult(
    DecayMethod Method, double Lr, double Lambda, double TestAccuracy, double TrainAccuracy,
    int[] CheckpointSteps, double[] TrainAccuracyCurve, double[] TestAccuracyCurve, double[] WeightNorm, double[] Losses,
    double MedianSqrtVHat)
{
    /// <summary>Train accuracy − test accuracy at the end.</summary>
    public double Gap => TrainAccuracy - TestAccuracy;
}

/// <summary>
/// One cell of the lr × λ grid as a sweep cell: a fresh model from the same seed (same init), the same data order, a
/// cosine schedule over the whole run (so the paper form's η_t varies; the sweep's budget), weight decay on the [decay]
/// group only (conv/linear weights; biases undecayed), ‖W‖ of the decayed weights after every step
/// (<see cref="DecayNormProbe"/>), and train/test accuracy at a few checkpoints.
/// </summary>
internal static class DecayGridCell
{
    /// <summary>The sweep optimizer that is <paramref name="method"/>: Adam's weight decay is L2 in the gradient.</summary>
    public static string Optimizer(DecayMethod method) => method switch
    {
        DecayMethod.AdamL2 => "adam",
        DecayMethod.AdamWTorch => "adamw",
        _ => "adamw-paper",
    };

    /// <summary>The sweep cell of (method, lr, λ) on <paramref name="model"/>.</summary>
    public static SweepCell Cell(DecayMethod method, double lr, double lambda, string model, int batchSize, long seed) =>
        SweepCell.Default with
        {
            Model = model, Optimizer = Optimizer(method), Lr = lr, WeightDecay = lambda, BatchSize = batchSize, Seed = seed,
        };

    /// <summary>The grid's record of a finished cell and its probe.</summary>
    public static DecayCellResult From(DecayMethod method, double lr, double lambda, SweepCellResult r, DecayNormProbe probe) =>
        new(method, lr, lambda, r.TestAccuracy, r.TrainAccuracy, r.CheckpointSteps, r.TrainCurve, r.TestCurve, probe.Norms(r.Losses),
            r.Losses, probe.MedianSqrtVHat());
}
