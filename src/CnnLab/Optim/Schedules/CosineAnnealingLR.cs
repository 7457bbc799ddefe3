namespace CnnLab.Optim.Schedules;

/// <summary>
/// Cosine annealing from the base lr η_max down to η_min over T_max epochs:
/// η_t = η_min + ½(η_max − η_min)(1 + cos(π·t / T_max)) (then back up, periodically, past T_max).
/// Computed as PyTorch 1.13 does, recursively from the current lr:
/// η_t = (1 + cos(π·t/T_max)) / (1 + cos(π·(t−1)/T_max)) · (η_{t−1} − η_min) + η_min,
/// with η_t = η_{t−1} + ½(η_max − η_min)(1 − cos(π/T_max)) when (t − 1 − T_max) mod 2T_max = 0.
/// The recursive and closed forms agree mathematically but round differently (≈1e-16 relative per step);
/// the recursion is what gives PyTorch's numbers. Default η_min = 0.
/// Paper: Loshchilov and Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts", 2016, arXiv:1608.03983
/// (the annealing part, without restarts).
/// </summary>
/// <remarks>PyTorch: <c>torch.optim.lr_scheduler.CosineAnnealingLR</c> (1.13 <c>get_lr</c>).</remarks>
public sealed class CosineAnnealingLR : LRScheduler
{
    /// <summary>Anneals over <paramref name="tMax"/> epochs down to <paramref name="etaMin"/>.</summary>
    public CosineAnnealingLR(Optimizer optimizer, int tMax, double etaMin = 0, int lastEpoch = -1) : base(optimizer, lastEpoch)
    {
        if (tMax <= 0) throw new ArgumentException($"tMax must be positive, got {tMax}", nameof(tMax));
        TMax = tMax;
        EtaMin = etaMin;
        InitialStep();
    }

    /// <summary>Half-period, in epochs.</summary>
    public int TMax { get; }

    /// <summary>Minimum lr η_min.</summary>
    public double EtaMin { get; }

    /// <inheritdoc/>
    protected override double[] GetLr()
    {
        int t = LastEpoch;
        var lrs = CurrentLrs();
        if (t == 0) return lrs;
        if (StepCount == 1 && t > 0)
            return BaseLrs.Select(b => EtaMin + (b - EtaMin) * (1 + Math.Cos(t * Math.PI / TMax)) / 2).ToArray();
        if ((t - 1 - TMax) % (2 * TMax) == 0)
            return lrs.Select((lr, i) => lr + (BaseLrs[i] - EtaMin) * (1 - Math.Cos(Math.PI / TMax)) / 2).ToArray();
        return lrs.Select(lr => (1 + Math.Cos(Math.PI * t / TMax)) / (1 + Math.Cos(Math.PI * (t - 1) / TMax)) * (lr - EtaMin) + EtaMin).ToArray();
    }

    /// <inheritdoc/>
    protected override double[] ClosedFormLr() =>
        BaseLrs.Select(b => EtaMin + (b - EtaMin) * (1 + Math.Cos(Math.PI * LastEpoch / TMax)) / 2).ToArray();
}
