namespace CnnLab.Optim.Schedules;

/// <summary>How <see cref="OneCycleLR"/> interpolates within a phase.</summary>
public enum AnnealStrategy
{
    /// <summary>end + (start − end)/2 · (cos(π·pct) + 1).</summary>
    Cos,

    /// <summary>(end − start)·pct + start.</summary>
    Linear,
}

/// <summary>
/// The 1cycle policy: the lr rises from initial_lr = max_lr / divFactor to max_lr during the first
/// pctStart of the steps, then anneals to min_lr = initial_lr / finalDivFactor; momentum (SGD/RMSprop
/// momentum, Adam's β1) cycles the other way between maxMomentum and baseMomentum. With threePhase the
/// lr goes back down to initial_lr symmetrically before the final anneal to min_lr.
/// Phase boundaries (in steps): pctStart·T − 1 and T − 1 (threePhase: pctStart·T − 1, 2·pctStart·T − 2, T − 1);
/// within a phase pct = (t − start)/(end − start) and the value is anneal(start, end, pct) (<see cref="AnnealStrategy"/>).
/// Call <see cref="LRScheduler.Step"/> after every batch; more than totalSteps steps is an error.
/// Defaults: pctStart 0.3, cos, cycleMomentum true, baseMomentum 0.85, maxMomentum 0.95, divFactor 25,
/// finalDivFactor 1e4, threePhase false. Note: with cycleMomentum the optimizer's momentum is overwritten
/// (even an SGD built with momentum 0 gets maxMomentum), as in PyTorch.
/// Paper: Smith and Topin, "Super-Convergence: Very Fast Training of Neural Networks Using Large Learning Rates",
/// 2017, arXiv:1708.07120.
/// </summary>
/// <remarks>PyTorch: <c>torch.optim.lr_scheduler.OneCycleLR</c> (1.13). The per-group <c>max_lr</c>, <c>min_lr</c>,
/// <c>max_momentum</c>, <c>base_momentum</c> that PyTorch stores in the groups live in this object.</remarks>
public sealed class OneCycleLR : LRScheduler
{
    private readonly (double EndStep, int Start, int End, int StartMomentum, int EndMomentum)[] _phases;
    private readonly double[] _maxLrs, _minLrs, _maxMomentums, _baseMomentums;
    private const int Initial = 0, Max = 1, Min = 2, BaseM = 3, MaxM = 4;

    /// <summary>
    /// A 1cycle schedule over <paramref name="totalSteps"/> steps peaking at <paramref name="maxLr"/> (one value, or one per group).
    /// </summary>
    public OneCycleLR(Optimizer optimizer, IReadOnlyList<double> maxLr, int totalSteps, double pctStart = 0.3,
        AnnealStrategy annealStrategy = AnnealStrategy.Cos, bool cycleMomentum = true, double baseMomentum = 0.85,
        double maxMomentum = 0.95, double divFactor = 25.0, double finalDivFactor = 1e4, bool threePhase = false, int lastEpoch = -1)
        : base(optimizer, lastEpoch)
    {
        ArgumentNullException.ThrowIfNull(maxLr);
        if (totalSteps <= 0) throw new ArgumentException($"Expected positive integer total_steps, but got {totalSteps}");
        if (pctStart < 0 || pctStart > 1) throw new ArgumentException($"Expected float between 0 and 1 pct_start, but got {pctStart}");
        var groups = optimizer.ParamGroups;
        if (maxLr.Count != 1 && maxLr.Count != groups.Count)
            throw new ArgumentException($"expected {groups.Count} values for max_lr, got {maxLr.Count}");
        TotalSteps = totalSteps;
        Anneal = annealStrategy;
        CycleMomentum = cycleMomentum;
        _phases = threePhase
            ?
            [
                ((double)(pctStart * totalSteps) - 1, Initial, Max, MaxM, BaseM),
                ((double)(2 * pctStart * totalSteps) - 2, Max, Initial, BaseM, MaxM),
                (totalSteps - 1, Initial, Min, MaxM, MaxM),
            ]
            :
            [
                ((double)(pctStart * totalSteps) - 1, Initial, Max, MaxM, BaseM),
                (totalSteps - 1, Max, Min, BaseM, MaxM),
            ];
        _maxLrs = new double[groups.Count];
        _minLrs = new double[groups.Count];
        _maxMomentums = new double[groups.Count];
        _baseMomentums = new double[groups.Count];
        for (int i = 0; i < groups.Count; i++)
        {
            _maxLrs[i] = maxLr.Count == 1 ? maxLr[0] : maxLr[i];
            if (lastEpoch == -1) groups[i].InitialLr = _maxLrs[i] / divFactor;
            _minLrs[i] = groups[i].InitialLr!.Value / finalDivFactor;
            if (cycleMomentum)
            {
                if (groups[i].Options is not IMomentumOptions m)
                    throw new ArgumentException("optimizer must support momentum with `cycle_momentum` option enabled");
                if (lastEpoch == -1) m.Momentum = maxMomentum;
                _maxMomentums[i] = maxMomentum;
                _baseMomentums[i] = baseMomentum;
            }
        }
        BaseLrs = groups.Select(g => g.InitialLr!.Value).ToArray();
        InitialStep();
    }

    /// <summary>Steps in the cycle.</summary>
    public int TotalSteps { get; }

    /// <summary>Interpolation within a phase.</summary>
    public AnnealStrategy Anneal { get; }

    /// <summary>Whether momentum/β1 is cycled inversely to the lr.</summary>
    public bool CycleMomentum { get; }

    /// <inheritdoc/>
    protected override double[] GetLr()
    {
        int stepNum = LastEpoch;
        if (stepNum > TotalSteps)
            throw new InvalidOperationException($"Tried to step {stepNum + 1} times. The specified number of total steps is {TotalSteps}");
        var groups = Optimizer.ParamGroups;
        var lrs = new double[groups.Count];
        for (int g = 0; g < groups.Count; g++)
        {
            double startStep = 0;
            for (int i = 0; i < _phases.Length; i++)
            {
                var phase = _phases[i];
                if (stepNum <= phase.EndStep || i == _phases.Length - 1)
                {
                    double pct = (stepNum - startStep) / (phase.EndStep - startStep);
                    lrs[g] = AnnealValue(Value(g, phase.Start), Value(g, phase.End), pct);
                    if (CycleMomentum)
                        ((IMomentumOptions)groups[g].Options).Momentum = AnnealValue(Value(g, phase.StartMomentum), Value(g, phase.EndMomentum), pct);
                    break;
                }
                startStep = phase.EndStep;
            }
        }
        return lrs;
    }

    private double Value(int group, int which) => which switch
    {
        Initial => BaseLrs[group],
        Max => _maxLrs[group],
        Min => _minLrs[group],
        BaseM => _baseMomentums[group],
        _ => _maxMomentums[group],
    };

    private double AnnealValue(double start, double end, double pct)
    {
        if (Anneal == AnnealStrategy.Linear) return (end - start) * pct + start;
        double cosOut = Math.Cos(Math.PI * pct) + 1;
        return end + (start - end) / 2.0 * cosOut;
    }
}
