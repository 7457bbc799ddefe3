using System.Diagnostics;

namespace CnnLab.Benchmarks;

/// <summary>The best (shortest) time of repeated runs: what the kernel benchmarks report on a noisy machine.</summary>
internal static class BestTime
{
    /// <summary>
    /// Seconds of the fastest of the runs made in about <paramref name="seconds"/> (at least 3), after untimed ones for as long
    /// (at most <see cref="MaxWarmUpSeconds"/>, at least one run).
    /// </summary>
    public static double Seconds(Action run, double seconds)
    {
        // The runtime optimizes a method only after it has run for a while: timed at once, a short pass measured code not yet
        // optimized (bench/RESULTS.md, "a warmed-up bench --convs").
        var warm = Stopwatch.StartNew();
        do run(); while (warm.Elapsed.TotalSeconds < Math.Min(seconds, MaxWarmUpSeconds));
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

    /// <summary>The longest untimed warm-up before a timing.</summary>
    public const double MaxWarmUpSeconds = 0.25;
}
