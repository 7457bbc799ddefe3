namespace CnnLab.Optim.Schedules;

/// <summary>
/// Multiplies the lr by γ every <c>stepSize</c> epochs: lr_t = lr₀ · γ^⌊t / stepSize⌋
/// (computed recursively: lr_t = lr_{t−1}·γ when t &gt; 0 and t mod stepSize = 0, else lr_{t−1}). Default γ = 0.1.
/// </summary>
/// <remarks>PyTorch: <c>torch.optim.lr_scheduler.StepLR</c>.</remarks>
public sealed class StepLR : LRScheduler
{
    /// <summary>Decays by <paramref name="gamma"/> every <paramref name="stepSize"/> epochs.</summary>
    public StepLR(Optimizer optimizer, int stepSize, double gamma = 0.1, int lastEpoch = -1) : base(optimizer, lastEpoch)
    {
        if (stepSize <= 0) throw new ArgumentException($"stepSize must be positive, got {stepSize}", nameof(stepSize));
        StepSize = stepSize;
        Gamma = gamma;
        InitialStep();
    }

    /// <summary>Period of the decay, in epochs.</summary>
    public int StepSize { get; }

    /// <summary>Multiplicative factor γ.</summary>
    public double Gamma { get; }

    /// <inheritdoc/>
    protected override double[] GetLr() => LastEpoch == 0 || LastEpoch % StepSize != 0
        ? CurrentLrs()
        : CurrentLrs().Select(lr => lr * Gamma).ToArray();

    /// <inheritdoc/>
    protected override double[] ClosedFormLr() => BaseLrs.Select(b => b * Math.Pow(Gamma, LastEpoch / StepSize)).ToArray();
}
