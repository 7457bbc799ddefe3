namespace CnnLab.Kernels;

// The planner's rule for the weight-row dot products (WeightRowConv): where the weights are used too few times to prepare.
public static partial class ConvPlanner
{
    // Where each weight meets at most MaxWeightRowUses output pixels a call (N·OH·OW), the layer's time is reading its weights:
    // the other algorithms pack them first (or, in inference, compare them with the kept plan's snapshot, reading them twice
    // more), and their kernels fill 8 or 16 pixels a step with 4. Against the planner's other choice with its plan compared (one
    // image, µs, weights in cache / from memory): 384→384 on 2x2 404 → 181 / 603 → 254, 256→384 at stride 2 to 2x2 176 → 94 /
    // 374 → 142, 64→64 on 2x2 5.9 → 4.7; frozen, inside wide-tail's forward, the two tied. With 16 uses (4x4 outputs) it lost
    // inside wide-tail's frozen forward (0.61-0.64 → 0.67-0.83 ms) and in cache with small weights (64→64 14 against 17 µs)
    // (bench/RESULTS.md, "Weights read where they lie"). One input channel a group keeps its own kernels: its weights are a few
    // taps a channel, nothing to compare at any cost, and the fused one-channel conv + ReLU + pool gives the general path's bits.
    internal const int MaxWeightRowUses = 4;

    private static bool WeightRowsPay(in Conv2dGeometry g) =>
        WeightRowConv.Supports(g) && g.Cg > 1 && (long)g.N * g.ColCols <= MaxWeightRowUses;
}
