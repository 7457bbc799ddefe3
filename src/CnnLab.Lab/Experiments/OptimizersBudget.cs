namespace CnnLab.Lab.Experiments;

/// <summary>
/// Sizes of <see cref="OptimizersExperiment"/> and the fixed learning rates of its training part (each the
/// usual good value for that optimizer on a small CNN, not re-tuned per run).
/// </summary>
internal sealed record OptimizersBudget(string Model, int Steps, int BatchSize, int TestImages, int SaddleSteps, int RosenbrockSteps, int BowlSteps)
{
    /// <summary>Quick: lenet5, 200 steps of 64 on the 6,000-image subset; surfaces 150 / 3,000 / 100 steps.</summary>
    public static OptimizersBudget Quick => new("lenet5", 200, 64, int.MaxValue, 150, 3000, 100);

    /// <summary>Full: cnn-small, 1,500 steps of 64 on full Fashion-MNIST; the same surfaces.</summary>
    public static OptimizersBudget Full => new("cnn-small", 1500, 64, int.MaxValue, 150, 3000, 100);

    /// <summary>Learning rate of each optimizer in the training part: SGD 0.1; momentum/Nesterov 0.01 with momentum 0.9
    /// (the same effective step lr/(1 − β) = 0.1); RMSprop, Adam and AdamW 1e-3 (PyTorch's Adam default).</summary>
    public static double TrainingLr(OptimizerKind k) => k switch
    {
        OptimizerKind.Sgd => 0.1,
        OptimizerKind.Momentum or OptimizerKind.Nesterov => 0.01,
        _ => 1e-3,
    };
}
