using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace CnnLab.Kernels;

/// <summary>
/// Forward plans (weights packed for the GEMM, transformed for Winograd, or copied for a direct kernel) kept between
/// calls for weights that have not changed. Inference runs the same layer with the same weights again and again, and
/// at batch 1 preparing them anew was most of a layer's time. A plan is reused only while the geometry (the batch
/// aside) and every weight are what they were when it was made, one plan per algorithm, since a batch of one and a larger
/// batch of the same layer can take different ones (compared bit for bit with a snapshot, so weights written
/// in place through any path are noticed: on every call where the weights were handed out, Tensor.Data, else once after each
/// write the library makes or sees, or once per freeze, Nn.Module.Freeze); the entry lives as long as the weights' array.
/// </summary>
/// <remarks>PyTorch: oneDNN's weight-prepacking in inference (<c>torch.jit.freeze</c>, <c>ipex.optimize</c>), automatic here.</remarks>
internal static class ConvPlanCache
{
    // Snapshot null: the weights were frozen (Freeze) and are not compared. Epoch: the epoch (Tensor.TrustedEpoch) in which
    // the snapshot was last found equal to the weights, 0 for none.
    private sealed class Entry(Conv2dGeometry geometry, float[]? snapshot, long epoch)
    {
        public readonly Conv2dGeometry Geometry = geometry;
        public readonly float[]? Snapshot = snapshot;
        private long _epoch = epoch;

        public long Epoch
        {
            get => Volatile.Read(ref _epoch);
            set => Volatile.Write(ref _epoch, value);
        }

        // By algorithm: a single image and a batch of the same layer may run different ones (ConvPlanner).
        public readonly ConvForwardPlan?[] Plans = new ConvForwardPlan?[s_algorithms];

        // The plan for the algorithm, made for these weights' values when first asked for (a benign race: two threads may
        // both make one, and the later is left to the GC).
        public ConvForwardPlan PlanFor(ConvAlgorithm algorithm, ReadOnlySpan<float> w)
        {
            ref var slot = ref Plans[(int)algorithm];
            if (slot is { } plan) return plan;
            var made = new ConvForwardPlan(Geometry, w, algorithm, cached: true);
            return Interlocked.CompareExchange(ref slot, made, null) ?? made;
        }
    }

    private static readonly ConditionalWeakTable<float[], Entry> s_plans = new();

    // The algorithms a plan can be made for (Enum.GetValues allocates on every call, and an entry is made per weight update).
    private static readonly int s_algorithms = Enum.GetValues<ConvAlgorithm>().Length;

    /// <summary>
    /// The forward plan of <paramref name="g"/> by the planner's choice (or <paramref name="pinned"/>): kept under
    /// <paramref name="weights"/> (<see cref="Get"/>), or where that is null made for this call alone and handed out in
    /// <paramref name="owned"/> too, for the caller to dispose.
    /// </summary>
    public static ConvForwardPlan Forward(in Conv2dGeometry g, CachedWeights? weights, ReadOnlySpan<float> w, ConvAlgorithm pinned,
        out ConvForwardPlan? owned, int winogradBlockColumns = 0)
    {
        var algorithm = ConvPlanner.Plan(g, pinned, weightsKept: weights is not null).Forward;
        // An algorithm that reads the weights where they lie has nothing to keep, and so nothing to compare.
        owned = weights is null || !ConvForwardPlan.PreparesWeights(algorithm) ? new ConvForwardPlan(g, w, algorithm, winogradBlockColumns) : null;
        return owned ?? Get(g, weights!.Value, w, algorithm);
    }

    /// <summary>
    /// The plan for <paramref name="weights"/>' values <paramref name="w"/>. Never dispose it. Weights known unchanged in an
    /// epoch (<see cref="CachedWeights.TrustedEpoch"/>) are compared with the plan's snapshot once in that epoch, not on every call.
    /// </summary>
    public static ConvForwardPlan Get(in Conv2dGeometry g, CachedWeights weights, ReadOnlySpan<float> w, ConvAlgorithm algorithm)
    {
        var shape = g with { N = 0 };
        long epoch = weights.TrustedEpoch;
        if (s_plans.TryGetValue(weights.Key, out var e) && e.Geometry == shape)
        {
            if (e.Snapshot is null || (epoch != 0 && e.Epoch == epoch)) return e.PlanFor(algorithm, w);
            if (SameBits(w, e.Snapshot))
            {
                e.Epoch = epoch;
                return e.PlanFor(algorithm, w);
            }
        }
        // A replaced entry's plans are left to the GC, not disposed: another thread may still be running one.
        var entry = new Entry(shape, s_frozen.TryGetValue(weights.Key, out _) ? null : w.ToArray(), epoch);
        s_plans.AddOrUpdate(weights.Key, entry);
        return entry.PlanFor(algorithm, w);
    }

    private static readonly ConditionalWeakTable<float[], object> s_frozen = new();

    /// <summary>Whether a plan is kept under <paramref name="key"/> (tests: the weight rows keep none).</summary>
    internal static bool Keeps(float[] key) => s_plans.TryGetValue(key, out _);

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
