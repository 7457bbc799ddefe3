namespace CnnLab.Optim.Schedules;

/// <summary>Multiplies the lr by γ every epoch: lr_t = lr₀ · γᵗ (recursively lr_t = lr_{t−1}·γ for t &gt; 0).</summary>
/// <remarks>PyTorch: <c>torch.optim.lr_scheduler.ExponentialLR</c>.</remarks>
public sealed class ExponentialLR : LRScheduler
{
    /// <summary>Decays by <paramref name="gamma"/> every epoch.</summary>
    public ExponentialLR(Optimizer optimizer, double gamma, int lastEpoch = -1) : base(optimizer, lastEpoch)
    {
        Gamma = gamma;
        InitialStep();
    }

    /// <summary>Multiplicative factor γ.</summary>
    public double Gamma { get; }

    /// <inheritdoc/>
    protected override double[] GetLr() => LastEpoch == 0 ? CurrentLrs() : CurrentLrs().Select(lr => lr * Gamma).ToArray();

    /// <inheritdoc/>
    protected override double[] ClosedFormLr() => BaseLrs.Select(b => b * Math.Pow(Gamma, LastEpoch)).ToArray();
}
