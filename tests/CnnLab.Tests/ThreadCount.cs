using CnnLab.Kernels;

namespace CnnLab.Tests;

/// <summary>Runs a test body with <see cref="Parallelism.MaxThreads"/> set, restoring it afterwards.</summary>
internal static class ThreadCount
{
    /// <summary><c>using (ThreadCount.Use(2)) { … }</c></summary>
    public static IDisposable Use(int threads) => Parallelism.UseThreads(threads);
}
