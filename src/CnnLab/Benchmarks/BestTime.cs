using System.Diagnostics;
using System.Runtime;

namespace CnnLab.Benchmarks;

/// <summary>The best (shortest) time of repeated runs: what the kernel benchmarks report on a noisy machine.</summary>
internal static class BestTime
{
    /// <summary>
    /// Seconds of the fastest of the runs made in about <paramref name="seconds"/> (at least 3), after untimed ones until the
    /// runtime has compiled no method over <see cref="QuietRuns"/> runs in a row (at least min(<paramref name="seconds"/>,
    /// <see cref="MinWarmUpSeconds"/>), at most min(20·<paramref name="seconds"/>, <see cref="MaxWarmUpSeconds"/>), one run at least).
    /// </summary>
    public static double Seconds(Action run, double seconds)
    {
        WarmUp(run, seconds);
        double best = double.MaxValue;
        int reps = 0;
        var total = Stopwatch.StartNew();
        while (total.Elapsed.TotalSeconds < seconds || reps < 3)
        {
            long t0 = Stopwatch.GetTimestamp();
            run();
            best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalSeconds);
            reps++;
        }
        return best;
    }

    /// <summary>The untimed runs before a timing of about <paramref name="seconds"/> (see <see cref="Seconds"/>); returns how many.</summary>
    internal static int WarmUp(Action run, double seconds)
    {
        // The runtime optimizes a method after some 30 calls, in two waves (instrumented, then optimized), and only once no new
        // method has been compiled for 100 ms: a pass timed after a fixed warm-up measured code not yet optimized (a first
        // layer's backward at 7.7 ms where its dW alone, timed later, took 1.5).
        double least = Math.Min(seconds, MinWarmUpSeconds), most = Math.Min(20 * seconds, MaxWarmUpSeconds);
        var warm = Stopwatch.StartNew();
        long compiled = JitInfo.GetCompiledMethodCount();
        int quiet = 0, runs = 0;
        do
        {
            run();
            runs++;
            long now = JitInfo.GetCompiledMethodCount();
            quiet = now == compiled ? quiet + 1 : 0;
            compiled = now;
        }
        while (warm.Elapsed.TotalSeconds < least || (quiet < QuietRuns && warm.Elapsed.TotalSeconds < most));
        return runs;
    }

    /// <summary>Runs in a row without a compiled method that end the warm-up: two waves of 30 calls, with room.</summary>
    public const int QuietRuns = 64;

    /// <summary>The shortest untimed warm-up before a timing (shorter only where the timing itself is).</summary>
    public const double MinWarmUpSeconds = 0.25;

    /// <summary>The longest untimed warm-up before a timing.</summary>
    public const double MaxWarmUpSeconds = 4;
}
