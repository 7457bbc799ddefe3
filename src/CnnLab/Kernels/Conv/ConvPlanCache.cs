using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace CnnLab.Kernels;

/// <summary>
/// Forward plans (weights packed for the GEMM, transformed for Winograd, or copied for a direct kernel) kept between
/// calls for weights that have not changed. Inference runs the same layer with the same weights again and again, and
/// at batch 1 preparing them anew was most of a layer's time. A plan is reused only while the geometry (the batch
/// aside), the algorithm and every weight are what they were when it was made (compared bit for bit with a snapshot, so weights written
/// in place through any path are noticed; a frozen model's, Nn.Module.Freeze, once per freeze); the entry lives as long as the
/// weights' array.
/// </summary>
/// <remarks>PyTorch: oneDNN's weight-prepacking in inference (<c>torch.jit.freeze</c>, <c>ipex.optimize</c>), automatic here.</remarks>
internal static class ConvPlanCache
{
    // Snapshot null: the weights were frozen (Freeze) and are not compared. Epoch: the freeze (Tensor.FrozenEpoch) in which
    // the snapshot was last found equal to the weights, 0 for none.
    private sealed class Entry(Conv2dGeometry geometry, float[]? snapshot, ConvForwardPlan plan, int epoch)
    {
        public readonly Conv2dGeometry Geometry = geometry;
        public readonly float[]? Snapshot = snapshot;
        public readonly ConvForwardPlan Plan = plan;
        public volatile int Epoch = epoch;
    }

    private static readonly ConditionalWeakTable<float[], Entry> s_plans = new();

    /// <summary>
    /// The plan for <paramref name="weights"/>' values <paramref name="w"/>. Never dispose it. Weights frozen in an epoch
    /// (<see cref="CachedWeights.FrozenEpoch"/>) are compared with the plan's snapshot once in that epoch, not on every call.
    /// </summary>
    public static ConvForwardPlan Get(in Conv2dGeometry g, CachedWeights weights, ReadOnlySpan<float> w, ConvAlgorithm algorithm)
    {
        var shape = g with { N = 0 };
        int epoch = weights.FrozenEpoch;
        if (s_plans.TryGetValue(weights.Key, out var e) && e.Geometry == shape && e.Plan.Algorithm == algorithm)
        {
            if (e.Snapshot is null || (epoch != 0 && e.Epoch == epoch)) return e.Plan;
            if (SameBits(w, e.Snapshot))
            {
                e.Epoch = epoch;
                return e.Plan;
            }
        }
        // A replaced plan is left to the GC, not disposed: another thread may still be running it.
        var plan = new ConvForwardPlan(shape, w, algorithm, cached: true);
        s_plans.AddOrUpdate(weights.Key, new Entry(shape, s_frozen.TryGetValue(weights.Key, out _) ? null : w.ToArray(), plan, epoch));
        return plan;
    }

    private static readonly ConditionalWeakTable<float[], object> s_frozen = new();

    /// <summary>
    /// Declares that <paramref name="key"/>'s values never change again, so its plan is reused without comparing them: for
    /// arrays only the library holds and never writes after making them (a batch norm folded into a convolution's weights,
    /// whose sources the folding compares itself), since at batch 1 the compare runs on every call of every layer.
    /// </summary>
    public static void Freeze(float[] key) => s_frozen.AddOrUpdate(key, key);

    // Bit for bit, as ints: float's SequenceEqual goes element by element through Equals (for NaN and −0), where the
    // ints' compare is vectorized; at batch 1 this compare runs on every call of every layer.
    private static bool SameBits(ReadOnlySpan<float> w, float[] snapshot) =>
        MemoryMarshal.Cast<float, int>(w).SequenceEqual(MemoryMarshal.Cast<float, int>(snapshot.AsSpan()));
}
