namespace CnnLab.Kernels;

/// <summary>
/// When a kernel that runs alone (a single image's layer, not one of a batch's images spread over the threads) splits its
/// own work among the threads: where more than one thread may run, the caller is not already one of a loop's threads, and
/// each thread would get at least <see cref="MinWork"/> multiply-adds (handing out a chunk costs a few microseconds).
/// </summary>
internal static class ThreadSplit
{
    /// <summary>
    /// Multiply-adds a thread's share must hold at least: about 2.5 µs at one core's peak, small enough for the Winograd
    /// layers of a 16- or 32-channel network to split (bench/RESULTS.md, "A single image's output channels on the threads").
    /// </summary>
    public const long MinWork = 1 << 17;

    /// <summary>
    /// Whether <paramref name="items"/> of <paramref name="itemWork"/> multiply-adds each are worth splitting here and now, and
    /// the <see cref="Parallelism.For"/> minChunk that keeps each thread's share at <see cref="MinWork"/> or more.
    /// </summary>
    public static bool Pays(int items, long itemWork, out int minChunk) =>
        Pays(items, itemWork, Parallelism.MaxThreads, Parallelism.InParallelBody, out minChunk);

    /// <summary><see cref="Pays(int, long, out int)"/> for <paramref name="threads"/> and a caller inside a parallel loop or not.</summary>
    internal static bool Pays(int items, long itemWork, int threads, bool inParallelBody, out int minChunk)
    {
        minChunk = (int)Math.Clamp((MinWork + itemWork - 1) / Math.Max(1, itemWork), 1, int.MaxValue);
        return items >= 2 * minChunk && threads > 1 && !inParallelBody;
    }
}
