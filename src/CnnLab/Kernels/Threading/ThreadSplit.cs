namespace CnnLab.Kernels;

/// <summary>
/// When a kernel that runs alone (a single image's layer, not one of a batch's images spread over the threads) splits its
/// own work among the threads: where more than one thread may run, the caller is not already one of a loop's threads, and
/// each thread would get at least <see cref="MinWork"/> multiply-adds (handing out a chunk costs a few microseconds).
/// </summary>
internal static class ThreadSplit
{
    /// <summary>
    /// Multiply-adds a thread's share must hold at least: about 2.5 µs at one core's peak. Shares from 512 K measured the same
    /// on the direct kernels but left resnet-mini's and plain-cnn-20's Winograd layers on one thread.
    /// </summary>
    public const long MinWork = 1 << 17;

    /// <summary>
    /// Whether <paramref name="items"/> of <paramref name="itemWork"/> multiply-adds each are worth splitting, and the least
    /// items a chunk takes (<see cref="Parallelism.For"/>'s minChunk).
    /// </summary>
    public static bool Pays(int items, long itemWork, out int minChunk)
    {
        minChunk = (int)Math.Clamp((MinWork + itemWork - 1) / Math.Max(1, itemWork), 1, int.MaxValue);
        return items >= 2 * minChunk && Parallelism.MaxThreads > 1 && !Parallelism.InParallelBody;
    }
}
