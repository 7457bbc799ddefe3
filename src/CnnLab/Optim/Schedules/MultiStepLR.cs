namespace CnnLab.Optim.Schedules;

/// <summary>
/// Multiplies the lr by γ at each milestone epoch: lr_t = lr₀ · γ^(number of milestones ≤ t)
/// (recursively: lr_t = lr_{t−1}·γ^k when t appears k times among the milestones). Default γ = 0.1.
/// </summary>
/// <remarks>PyTorch: <c>torch.optim.lr_scheduler.MultiStepLR</c>.</remarks>
public sealed class MultiStepLR : LRScheduler
{
    private readonly int[] _milestones;

    /// <summary>Decays by <paramref name="gamma"/> at each of <paramref name="milestones"/>.</summary>
    public MultiStepLR(Optimizer optimizer, IEnumerable<int> milestones, double gamma = 0.1, int lastEpoch = -1) : base(optimizer, lastEpoch)
    {
        ArgumentNullException.ThrowIfNull(milestones);
        _milestones = milestones.Order().ToArray();
        Gamma = gamma;
        InitialStep();
    }

    /// <summary>The milestones, sorted.</summary>
    public IReadOnlyList<int> Milestones => _milestones;

    /// <summary>Multiplicative factor γ.</summary>
    public double Gamma { get; }

    /// <inheritdoc/>
    protected override double[] GetLr()
    {
        int count = _milestones.Count(m => m == LastEpoch);
        return count == 0 ? CurrentLrs() : CurrentLrs().Select(lr => lr * Math.Pow(Gamma, count)).ToArray();
    }

    /// <inheritdoc/>
    protected override double[] ClosedFormLr() =>
        BaseLrs.Select(b => b * Math.Pow(Gamma, _milestones.Count(m => m <= LastEpoch))).ToArray();
}
