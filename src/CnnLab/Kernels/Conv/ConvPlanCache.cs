using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace CnnLab.Kernels;

/// <summary>
/// Forward plans (weights packed for the GEMM, transformed for Winograd, or copied for a direct kernel) kept between
/// calls for weights that have not changed. Inference runs the same layer with the same weights again and again, and
/// at batch 1 preparing them anew was most of a layer's time. A plan is reused only while the geometry (the batch
/// aside), the algorithm and every weight are what they were when it was made (compared bit for bit with a snapshot, so weights written
/// in place through any path are noticed); the entry lives as long as the weights' array.
/// </summary>
/// <remarks>PyTorch: oneDNN's weight-prepacking in inference (<c>torch.jit.freeze</c>, <c>ipex.optimize</c>), automatic here.</remarks>
internal static class ConvPlanCache
{
    // Snapshot null: the weights were frozen (Freeze) and are not compared.
    private sealed record Entry(Conv2dGeometry Geometry, float[]? Snapshot, ConvForwardPlan Plan);

    private static readonly ConditionalWeakTable<float[], Entry> s_plans = new();

    /// <summary>The plan for weights <paramref name="w"/>, whose backing array is <paramref name="key"/>. Never dispose it.</summary>
    public static ConvForwardPlan Get(in Conv2dGeometry g, float[] key, ReadOnlySpan<float> w, ConvAlgorithm algorithm)
    {
        var shape = g with { N = 0 };
        if (s_plans.TryGetValue(key, out var e) && e.Geometry == shape && e.Plan.Algorithm == algorithm
            && (e.Snapshot is null || SameBits(w, e.Snapshot)))
            return e.Plan;
        // A replaced plan is left to the GC, not disposed: another thread may still be running it.
        var plan = new ConvForwardPlan(shape, w, algorithm, cached: true);
        s_plans.AddOrUpdate(key, new Entry(shape, s_frozen.TryGetValue(key, out _) ? null : w.ToArray(), plan));
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
