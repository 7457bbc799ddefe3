namespace CnnLab.Optim.Schedules;

/// <summary>
/// Runs schedulers one after another: scheduler k drives the lr from milestone k−1 to milestone k
/// (e.g. <see cref="LinearLR"/> warm-up for 5 epochs, then <see cref="CosineAnnealingLR"/>). At a milestone
/// the next scheduler restarts at its epoch 0 using its closed form (so a cosine starts from the base lr).
/// Construct the inner schedulers first, in order, on the same optimizer; this constructor undoes their
/// initial steps and replays only the first one's, exactly as PyTorch 1.13 does.
/// </summary>
/// <remarks>PyTorch: <c>torch.optim.lr_scheduler.SequentialLR</c> (1.13).</remarks>
public sealed class SequentialLR : LRScheduler
{
    private readonly LRScheduler[] _schedulers;
    private readonly int[] _milestones;

    /// <summary>Chains <paramref name="schedulers"/>, switching at <paramref name="milestones"/> (one fewer than schedulers).</summary>
    public SequentialLR(Optimizer optimizer, IReadOnlyList<LRScheduler> schedulers, IReadOnlyList<int> milestones, int lastEpoch = -1)
        : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(schedulers);
        ArgumentNullException.ThrowIfNull(milestones);
        for (int i = 0; i < schedulers.Count; i++)
            if (!ReferenceEquals(schedulers[i].Optimizer, optimizer))
                throw new ArgumentException("Sequential Schedulers expects all schedulers to belong to the same optimizer, but " +
                    $"got schedulers at index {i} to be different than the optimizer passed in.");
        if (milestones.Count != schedulers.Count - 1)
            throw new ArgumentException("Sequential Schedulers expects number of schedulers provided to be one more than the number of " +
                $"milestone points, but got number of schedulers {schedulers.Count} and the number of milestones to be equal to {milestones.Count}");
        _schedulers = schedulers.ToArray();
        _milestones = milestones.ToArray();
        LastEpoch = lastEpoch + 1;
        foreach (var g in optimizer.ParamGroups)
            g.Lr = g.InitialLr ?? throw new ArgumentException("SequentialLR needs each group's InitialLr: construct the inner schedulers first");
        foreach (var s in _schedulers) s.LastEpoch -= 1;
        _schedulers[0].InitialStep();
        LastLr = _schedulers[0].LastLr;
    }

    /// <summary>The chained schedulers.</summary>
    public IReadOnlyList<LRScheduler> Schedulers => _schedulers;

    /// <summary>The epochs at which the next scheduler takes over.</summary>
    public IReadOnlyList<int> Milestones => _milestones;

    /// <summary>Advances one epoch: steps the scheduler in charge (restarting it at epoch 0 at its milestone).</summary>
    public override void Step()
    {
        LastEpoch++;
        int idx = _milestones.Count(m => m <= LastEpoch);   // bisect_right
        var scheduler = _schedulers[idx];
        if (idx > 0 && _milestones[idx - 1] == LastEpoch) scheduler.StepTo(0);
        else scheduler.Step();
        LastLr = scheduler.LastLr;
    }

    /// <summary>The lr the scheduler in charge set last.</summary>
    protected override double[] GetLr() => LastLr.ToArray();
}
