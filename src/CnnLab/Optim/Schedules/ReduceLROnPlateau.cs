namespace CnnLab.Optim.Schedules;

/// <summary>Whether <see cref="ReduceLROnPlateau"/>'s metric should go down (loss) or up (accuracy).</summary>
public enum PlateauMode
{
    /// <summary>Lower is better.</summary>
    Min,

    /// <summary>Higher is better.</summary>
    Max,
}

/// <summary>How <see cref="ReduceLROnPlateau"/> compares a metric with the best so far.</summary>
public enum ThresholdMode
{
    /// <summary>Better means beyond best·(1 ∓ threshold).</summary>
    Rel,

    /// <summary>Better means beyond best ∓ threshold.</summary>
    Abs,
}

/// <summary>
/// Multiplies the lr by <c>factor</c> when a metric has stopped improving for more than <c>patience</c> epochs.
/// A value a improves on the best b when (min, rel) a &lt; b·(1 − threshold); (min, abs) a &lt; b − threshold;
/// (max, rel) a &gt; b·(1 + threshold); (max, abs) a &gt; b + threshold. After more than <c>patience</c> epochs
/// without improvement, lr ← max(lr·factor, min_lr) for each group (skipped when the change is ≤ eps), and the
/// next <c>cooldown</c> epochs do not count as bad.
/// Defaults: mode min, factor 0.1, patience 10, threshold 1e-4, rel, cooldown 0, minLr 0, eps 1e-8.
/// </summary>
/// <remarks>PyTorch: <c>torch.optim.lr_scheduler.ReduceLROnPlateau</c> (1.13). Not an <see cref="LRScheduler"/>:
/// its <see cref="Step"/> takes the metric.</remarks>
public sealed class ReduceLROnPlateau
{
    private readonly double[] _minLrs;

    /// <summary>Watches a metric for <paramref name="optimizer"/>; <paramref name="minLr"/> is one value or one per group.</summary>
    public ReduceLROnPlateau(Optimizer optimizer, PlateauMode mode = PlateauMode.Min, double factor = 0.1, int patience = 10,
        double threshold = 1e-4, ThresholdMode thresholdMode = ThresholdMode.Rel, int cooldown = 0,
        IReadOnlyList<double>? minLr = null, double eps = 1e-8)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (factor >= 1.0) throw new ArgumentException("Factor should be < 1.0.");
        Optimizer = optimizer;
        int groups = optimizer.ParamGroups.Count;
        minLr ??= [0.0];
        if (minLr.Count != 1 && minLr.Count != groups) throw new ArgumentException($"expected {groups} min_lrs, got {minLr.Count}");
        _minLrs = Enumerable.Range(0, groups).Select(i => minLr.Count == 1 ? minLr[0] : minLr[i]).ToArray();
        Mode = mode;
        Factor = factor;
        Patience = patience;
        Threshold = threshold;
        ThresholdMode = thresholdMode;
        Cooldown = cooldown;
        Eps = eps;
        Best = mode == PlateauMode.Min ? double.PositiveInfinity : double.NegativeInfinity;
        LastLr = optimizer.ParamGroups.Select(g => g.Lr).ToArray();
    }

    public Optimizer Optimizer { get; }
    public PlateauMode Mode { get; }
    public double Factor { get; }
    public int Patience { get; }
    public double Threshold { get; }
    public ThresholdMode ThresholdMode { get; }
    public int Cooldown { get; }
    public double Eps { get; }
    public IReadOnlyList<double> MinLrs => _minLrs;

    /// <summary>Best metric so far.</summary>
    public double Best { get; private set; }

    /// <summary>Consecutive epochs without improvement.</summary>
    public int NumBadEpochs { get; private set; }

    /// <summary>Epochs of cooldown left.</summary>
    public int CooldownCounter { get; private set; }

    /// <summary>Epochs seen.</summary>
    public int LastEpoch { get; private set; }

    /// <summary>Each group's lr after the last step.</summary>
    public IReadOnlyList<double> LastLr { get; private set; }

    /// <summary>Records the epoch's <paramref name="metric"/> and reduces the lr if it has plateaued.</summary>
    public void Step(double metric)
    {
        LastEpoch++;
        if (IsBetter(metric, Best))
        {
            Best = metric;
            NumBadEpochs = 0;
        }
        else NumBadEpochs++;
        if (CooldownCounter > 0)
        {
            CooldownCounter--;
            NumBadEpochs = 0;
        }
        if (NumBadEpochs > Patience)
        {
            ReduceLr();
            CooldownCounter = Cooldown;
            NumBadEpochs = 0;
        }
        LastLr = Optimizer.ParamGroups.Select(g => g.Lr).ToArray();
    }

    private void ReduceLr()
    {
        var groups = Optimizer.ParamGroups;
        for (int i = 0; i < groups.Count; i++)
        {
            double oldLr = groups[i].Lr;
            double newLr = Math.Max(oldLr * Factor, _minLrs[i]);
            if (oldLr - newLr > Eps) groups[i].Lr = newLr;
        }
    }

    private bool IsBetter(double a, double best) => (Mode, ThresholdMode) switch
    {
        (PlateauMode.Min, ThresholdMode.Rel) => a < best * (1.0 - Threshold),
        (PlateauMode.Min, ThresholdMode.Abs) => a < best - Threshold,
        (PlateauMode.Max, ThresholdMode.Rel) => a > best * (Threshold + 1.0),
        _ => a > best + Threshold,
    };
}
