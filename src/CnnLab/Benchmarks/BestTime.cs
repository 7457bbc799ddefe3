using System.Diagnostics;

namespace CnnLab.Benchmarks;

/// <summary>The best (shortest) time of repeated runs: what the kernel benchmarks report on a noisy machine.</summary>
internal static class BestTime
{
    /// <summary>Seconds of the fastest of the runs made in about <paramref name="seconds"/> (at least 3, after one untimed).</summary>
    public static double Seconds(Action run, double seconds)
    {
        run();
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
}
