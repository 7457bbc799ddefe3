namespace CnnLab.Optim.Schedules;

/// <summary>
/// Base of the epoch/step learning-rate schedulers. Call <see cref="Step"/> after <c>optimizer.Step()</c>.
/// The constructor records each group's <c>InitialLr</c> (if unset) as its base lr, and subclasses end their
/// constructor with <see cref="InitialStep"/>, which sets the lr for epoch 0, as PyTorch does.
/// Schedulers use PyTorch 1.13's recursive ("chainable") form of <c>get_lr</c>: each lr is computed from the
/// group's current lr, which is what reproduces PyTorch's numbers to the last bit.
/// </summary>
/// <remarks>PyTorch: <c>torch.optim.lr_scheduler._LRScheduler</c> (1.13).</remarks>
public abstract class LRScheduler
{
    /// <summary>Attaches to <paramref name="optimizer"/>. With <paramref name="lastEpoch"/> = −1 each group's
    /// <c>InitialLr</c> defaults to its lr; when resuming (lastEpoch ≥ 0) every group must already have one.</summary>
    protected LRScheduler(Optimizer optimizer, int lastEpoch)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Optimizer = optimizer;
        var groups = optimizer.ParamGroups;
        if (lastEpoch == -1)
            foreach (var g in groups) g.InitialLr ??= g.Lr;
        else
            for (int i = 0; i < groups.Count; i++)
                if (groups[i].InitialLr is null)
                    throw new ArgumentException($"param 'initial_lr' is not specified in param_groups[{i}] when resuming an optimizer");
        BaseLrs = groups.Select(g => g.InitialLr!.Value).ToArray();
        LastEpoch = lastEpoch;
    }

    /// <summary>For schedulers that drive others (<see cref="SequentialLR"/>): attaches without touching the groups.</summary>
    private protected LRScheduler(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Optimizer = optimizer;
        BaseLrs = optimizer.ParamGroups.Select(g => g.InitialLr ?? g.Lr).ToArray();
    }

    /// <summary>The optimizer whose groups' lr this scheduler sets.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>Each group's base lr (its <c>InitialLr</c>).</summary>
    public double[] BaseLrs { get; protected set; }

    /// <summary>The index of the last epoch/step taken (−1 before the initial step; PyTorch's <c>last_epoch</c>).</summary>
    public int LastEpoch { get; internal set; }

    /// <summary>How many times <see cref="Step"/> has run since <see cref="InitialStep"/> (PyTorch's <c>_step_count</c>).</summary>
    protected int StepCount { get; private set; }

    /// <summary>The lr of each group after the last step (PyTorch's <c>get_last_lr()</c>).</summary>
    public IReadOnlyList<double> LastLr { get; private protected set; } = [];

    /// <summary>Resets the step count and takes the first step (sets the lr for epoch 0).</summary>
    protected internal void InitialStep()
    {
        StepCount = 0;
        Step();
    }

    /// <summary>Advances one epoch/step and sets each group's lr.</summary>
    public virtual void Step()
    {
        StepCount++;
        LastEpoch++;
        Apply(GetLr());
    }

    /// <summary>Jumps to <paramref name="epoch"/> using the closed form when the scheduler has one
    /// (PyTorch's deprecated <c>step(epoch)</c>, which <see cref="SequentialLR"/> uses at its milestones).</summary>
    internal void StepTo(int epoch)
    {
        StepCount++;
        LastEpoch = epoch;
        Apply(ClosedFormLr() ?? GetLr());
    }

    /// <summary>The new lr of each group, computed from the current ones (the chainable form).</summary>
    protected abstract double[] GetLr();

    /// <summary>The lr of each group at <see cref="LastEpoch"/> from the base lrs alone, or null if there is no closed form.</summary>
    protected virtual double[]? ClosedFormLr() => null;

    /// <summary>The groups' current lrs.</summary>
    protected double[] CurrentLrs() => Optimizer.ParamGroups.Select(g => g.Lr).ToArray();

    private void Apply(double[] lrs)
    {
        var groups = Optimizer.ParamGroups;
        for (int i = 0; i < groups.Count; i++) groups[i].Lr = lrs[i];
        LastLr = lrs;
    }
}
