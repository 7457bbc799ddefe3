namespace CnnLab.Lab.Experiments;

/// <summary>
/// Sizes of <see cref="AdamVsAdamWExperiment"/>. The λ axes differ per method because the coefficients
/// mean different things: Adam + L2's λ is divided by √v̂ (≈ 1e-3..1e-2 for CNN weights), so it acts like a
/// decoupled λ 100–1000× larger; PyTorch's AdamW multiplies λ by lr; the paper's AdamW uses λ per step.
/// The paper axis is <see cref="TorchLambdas"/> × <see cref="ReferenceLr"/>, so at lr = ReferenceLr the two
/// AdamW forms are the same optimizer and the grids can be read side by side.
/// </summary>
internal sealed record DecayGridBudget(
    string Model, int TrainImages, int Steps, int BatchSize, int Checkpoints, int TestImages,
    double[] Lrs, double[] L2Lambdas, double[] TorchLambdas, double ReferenceLr)
{
    /// <summary>Quick: lenet5, 2,000 training images, 160 steps of 64 (5 epochs), 3 × 3 grid (a short budget wants the higher lrs).</summary>
    public static DecayGridBudget Quick => new("lenet5", 2000, 160, 64, 4, int.MaxValue,
        [1e-3, 3e-3, 1e-2], [1e-4, 1e-3, 1e-2], [1e-2, 1e-1, 1], 3e-3);

    /// <summary>
    /// Full: cnn-small, 10,000 training images, 300 steps of 64 (~2 epochs), 4 × 4 grid per method, accuracy on 2,000 test
    /// images at 3 checkpoints: 49 runs of about 30 s each on one thread of the loaded 2-core machine. At 600 steps a run
    /// measured ~65 s there (53 min in all); the original 1,500 steps with 6 checkpoints on the whole test set, over two hours.
    /// </summary>
    public static DecayGridBudget Full => new("cnn-small", 10_000, 300, 64, 3, 2000,
        [1e-4, 3e-4, 1e-3, 3e-3], [1e-5, 1e-4, 1e-3, 1e-2], [1e-3, 1e-2, 1e-1, 1], 1e-3);

    /// <summary>The paper form's per-step λ for each column: λ_torch × ReferenceLr.</summary>
    public double[] PaperLambdas => TorchLambdas.Select(l => l * ReferenceLr).ToArray();

    public double[] Lambdas(DecayMethod m) => m switch
    {
        DecayMethod.AdamL2 => L2Lambdas,
        DecayMethod.AdamWTorch => TorchLambdas,
        _ => PaperLambdas,
    };
}
