using System.Diagnostics;
using System.Runtime.Intrinsics;
using CnnLab.Kernels;

namespace CnnLab.Benchmarks;

/// <summary>
/// One core's fused multiply-add peak in GFLOP/s, measured: twelve independent chains of vector FMAs
/// (enough to cover the FMA latency on both pipes), the best of short runs over a third of a second. 16 lanes × 2 FLOPs × 2 pipes ×
/// the clock on an AVX-512 core with two 512-bit FMA pipes (Zen 5: ~221 GFLOP/s at 3.45 GHz).
/// </summary>
public static class FmaPeak
{
    /// <summary>GFLOP/s of one thread's FMA loop.</summary>
    public static double Measure()
    {
        // Many short runs over a third of a second: the vCPUs lose time in bursts, and the best run is the one no burst hit.
        const long iterations = 1_000_000;
        double best = double.MaxValue;
        float sink = 0;
        var clock = Stopwatch.StartNew();
        for (int run = 0; run < 5 || clock.Elapsed.TotalSeconds < 0.3; run++)
        {
            long t0 = Stopwatch.GetTimestamp();
            sink += Vector512.IsHardwareAccelerated ? Loop<Lanes512, Vector512<float>>(iterations) : Loop<Lanes256, Vector256<float>>(iterations);
            best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalSeconds);
        }
        int lanes = Vector512.IsHardwareAccelerated ? Lanes512.Count : Lanes256.Count;
        // The sum keeps the loop from being optimized away; it is finite, so this never changes the result.
        return float.IsNaN(sink) ? 0 : iterations * 12.0 * lanes * 2 / best / 1e9;
    }

    // Twelve chains of lane-wise FMAs; the lanes' sum (finite) is returned so the loop is not optimized away.
    // Written once over the optimizer kernels' per-width vector operations.
    private static float Loop<TLanes, TV>(long iterations) where TLanes : IOptimizerLanes<TV> where TV : struct
    {
        var m = TLanes.Create(0.9999999f);
        var c = TLanes.Create(1e-7f);
        TV a0 = TLanes.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < iterations; i++)
        {
            a0 = TLanes.Fma(a0, m, c); a1 = TLanes.Fma(a1, m, c); a2 = TLanes.Fma(a2, m, c);
            a3 = TLanes.Fma(a3, m, c); a4 = TLanes.Fma(a4, m, c); a5 = TLanes.Fma(a5, m, c);
            a6 = TLanes.Fma(a6, m, c); a7 = TLanes.Fma(a7, m, c); a8 = TLanes.Fma(a8, m, c);
            a9 = TLanes.Fma(a9, m, c); a10 = TLanes.Fma(a10, m, c); a11 = TLanes.Fma(a11, m, c);
        }
        var all = TLanes.Add(TLanes.Add(TLanes.Add(a0, a1), TLanes.Add(a2, a3)), TLanes.Add(TLanes.Add(a4, a5), TLanes.Add(a6, a7)));
        all = TLanes.Add(all, TLanes.Add(TLanes.Add(a8, a9), TLanes.Add(a10, a11)));
        Span<float> lanes = stackalloc float[TLanes.Count];
        TLanes.Store(all, ref lanes[0], 0);
        float sum = 0;
        foreach (float v in lanes) sum += v;
        return sum;
    }
}
