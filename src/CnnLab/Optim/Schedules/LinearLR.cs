namespace CnnLab.Optim.Schedules;

/// <summary>
/// Linear warm-up (or decay) of the lr multiplier from <c>startFactor</c> to <c>endFactor</c> over
/// <c>totalIters</c> epochs: lr_t = lr₀ · (s + (e − s)·min(t, T)/T). Computed as PyTorch 1.13 does, recursively:
/// lr_0 = lr·s; lr_t = lr_{t−1}·(1 + (e − s) / (T·s + (t − 1)(e − s))) for 0 &lt; t ≤ T; unchanged after.
/// Defaults: startFactor 1/3, endFactor 1, totalIters 5.
/// </summary>
/// <remarks>PyTorch: <c>torch.optim.lr_scheduler.LinearLR</c>.</remarks>
public sealed class LinearLR : LRScheduler
{
    /// <summary>
    /// Scales the lr linearly from <paramref name="startFactor"/> to <paramref name="endFactor"/> over <paramref name="totalIters"/> epochs.
    /// </summary>
    public LinearLR(Optimizer optimizer, double startFactor = 1.0 / 3, double endFactor = 1.0, int totalIters = 5, int lastEpoch = -1)
        : base(optimizer, lastEpoch)
    {
        if (startFactor > 1.0 || startFactor < 0) throw new ArgumentException("Starting multiplicative factor expected to be between 0 and 1.");
        if (endFactor > 1.0 || endFactor < 0) throw new ArgumentException("Ending multiplicative factor expected to be between 0 and 1.");
        StartFactor = startFactor;
        EndFactor = endFactor;
        TotalIters = totalIters;
        InitialStep();
    }

    /// <summary>Multiplier at epoch 0.</summary>
    public double StartFactor { get; }

    /// <summary>Multiplier from epoch <see cref="TotalIters"/> on.</summary>
    public double EndFactor { get; }

    /// <summary>Epochs of the linear ramp.</summary>
    public int TotalIters { get; }

    /// <inheritdoc/>
    protected override double[] GetLr()
    {
        int t = LastEpoch;
        var lrs = CurrentLrs();
        if (t == 0) return lrs.Select(lr => lr * StartFactor).ToArray();
        if (t > TotalIters) return lrs;
        return lrs.Select(lr => lr * (1.0 + (EndFactor - StartFactor) /
            (TotalIters * StartFactor + (t - 1) * (EndFactor - StartFactor)))).ToArray();
    }

    /// <inheritdoc/>
    protected override double[] ClosedFormLr() =>
        BaseLrs.Select(b => b * (StartFactor + (EndFactor - StartFactor) * Math.Min(TotalIters, LastEpoch) / TotalIters)).ToArray();
}
