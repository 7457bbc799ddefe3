namespace CnnLab.Lab.Experiments;

/// <summary>Sizes of <see cref="FeatureHierarchyExperiment"/>.</summary>
/// <param name="Widths">Channels of the three conv stages (two 3×3 convs each, then 2×2 max pooling between stages).</param>
/// <param name="Steps">Training steps (AdamW, batch <paramref name="BatchSize"/>).</param>
/// <param name="BatchSize">Images per training step.</param>
/// <param name="Lr">AdamW's learning rate.</param>
/// <param name="ProbeTrainImages">Training images the linear probes are fitted on.</param>
/// <param name="TestImages">Test images for the probes, the selectivity index and the top patches.</param>
/// <param name="ProbeSteps">Full-batch AdamW steps of each probe.</param>
/// <param name="ShownChannels">Channels per layer shown as top patches and activation-maximization images.</param>
/// <param name="MaximizationSteps">Gradient-ascent steps of the activation maximization.</param>
internal sealed record FeatureHierarchyBudget(
    int[] Widths, int Steps, int BatchSize, double Lr, int ProbeTrainImages, int TestImages, int ProbeSteps, int ShownChannels, int MaximizationSteps)
{
    /// <summary>Quick: the embedded subset, 16/32/64 channels, 280 steps of 64 (3 epochs of 6,000 images).</summary>
    public static FeatureHierarchyBudget Quick => new([16, 32, 64], 400, 64, 1e-3, 6000, 1000, 150, 4, 48);

    /// <summary>Full: 2,000 steps of 128 (4.3 epochs of 60,000), probes on 10,000 training and 10,000 test images.</summary>
    public static FeatureHierarchyBudget Full => new([16, 32, 64], 2000, 128, 1e-3, 10_000, 10_000, 300, 6, 96);
}
