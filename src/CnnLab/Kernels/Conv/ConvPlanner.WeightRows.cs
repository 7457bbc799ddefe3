namespace CnnLab.Kernels;

// The planner's rule for the weight-row dot products (WeightRowConv): where the weights are used too few times to prepare.
public static partial class ConvPlanner
{
    // Where each weight meets at most MaxWeightRowUses output pixels a call (N·OH·OW), the layer's time is reading its weights:
    // the other algorithms pack them first (or, in inference, compare them with the kept plan's snapshot, reading them twice
    // more), and their kernels fill 8 or 16 pixels a step with 4. Against the planner's other choice (one image, frozen, µs,
    // weights in cache / read from memory, bench/RESULTS.md, "Weights read where they lie"): 384→384 on 2x2 563 → 226 /
    // 791 → 310; 64→64 on 2x2 tied. With 16 uses (4x4 outputs) it won alone on large weights (256→256 on 4x4 227 → 216 /
    // 488 → 343) but lost inside wide-tail's frozen forward (0.63-0.75 → 0.67-0.83 ms), and with smaller weights the
    // channel-blocked kernel won in cache (64→64 on 4x4 14 against 17, 96→96 32 against 35).
    internal const int MaxWeightRowUses = 4;

    private static bool WeightRowsPay(in Conv2dGeometry g) => WeightRowConv.Supports(g) && (long)g.N * g.ColCols <= MaxWeightRowUses;
}
