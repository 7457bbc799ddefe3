namespace CnnLab.Kernels;

/// <summary>
/// How many threads kernels use, and a dynamic parallel loop. Work is split into more chunks than
/// threads and handed out as threads free up (no static split, no spinning at barriers), because
/// this project's machines lose whole cores to their host in bursts. The chunks run on the caller
/// and on persistent helper threads (<see cref="KernelWorkers"/>).
/// </summary>
public static class Parallelism
{
    private static int s_maxThreads = Environment.ProcessorCount;

    // True on a thread while it runs a For body: a nested For (e.g. a GEMM inside a per-image loop)
    // then runs inline, because the outer loop already keeps every core busy and nesting would
    // oversubscribe them.
    [ThreadStatic] private static bool t_inParallelBody;

    /// <summary>True on a thread running a <see cref="For"/> body: a For called now runs inline, on this thread alone.</summary>
    internal static bool InParallelBody => t_inParallelBody;

    // Marks the current thread as running a For body; returns the previous mark for ExitBody.
    internal static bool EnterBody()
    {
        bool outer = t_inParallelBody;
        t_inParallelBody = true;
        return outer;
    }

    internal static void ExitBody(bool outer) => t_inParallelBody = outer;

    /// <summary>The most threads <see cref="MaxThreads"/> accepts (the training config's limit too).</summary>
    public const int MaxThreadsLimit = 256;

    /// <summary>
    /// Maximum threads a kernel may use (the CLI's <c>--threads</c>). Default: all cores; a larger value
    /// runs on as many threads as there are cores (the chunks, and so the results, are those of the value).
    /// </summary>
    public static int MaxThreads
    {
        get => s_maxThreads;
        set
        {
            if (value < 1 || value > MaxThreadsLimit)
                throw new ArgumentOutOfRangeException(nameof(value), value, $"threads must be between 1 and {MaxThreadsLimit}");
            s_maxThreads = value;
        }
    }

    /// <summary>
    /// Sets <see cref="MaxThreads"/> until the returned scope is disposed, then restores what it was:
    /// <c>using (Parallelism.UseThreads(1)) { … }</c>. A process-wide setting, as <c>torch.set_num_threads</c>.
    /// </summary>
    public static IDisposable UseThreads(int threads)
    {
        int saved = MaxThreads;
        MaxThreads = threads;
        return new ThreadScope(saved);
    }

    private sealed class ThreadScope(int saved) : IDisposable
    {
        private bool _disposed;

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            MaxThreads = saved;
        }
    }

    private static TimeSpan s_idlePoll = TimeSpan.FromMilliseconds(2);

    /// <summary>
    /// How long a kernel helper thread that has run out of work (and a loop's caller waiting for its last
    /// chunks) polls for more before it sleeps; 0 to 1 s. Default 2 ms: waking a sleeping thread takes
    /// longer on this project's machines than most gaps between a training step's loops, so polling makes
    /// multi-thread steps faster; it costs CPU time while the program does something else.
    /// <see cref="TimeSpan.Zero"/> sleeps at once.
    /// </summary>
    public static TimeSpan IdlePoll
    {
        get => s_idlePoll;
        set
        {
            if (value < TimeSpan.Zero || value > TimeSpan.FromSeconds(1))
                throw new ArgumentOutOfRangeException(nameof(value), value, "idle poll must be between 0 and 1 second");
            s_idlePoll = value;
            IdlePollTicks = Ticks(value);
        }
    }

    // IdlePoll in Stopwatch ticks, read by every wait.
    internal static long IdlePollTicks { get; private set; } = Ticks(s_idlePoll);

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);

    /// <summary>
    /// Runs <paramref name="body"/>(start, end) over [0, count) in chunks of at least
    /// <paramref name="minChunk"/> items. Each item is processed by exactly one call, so results
    /// that do not combine items across chunks are identical for every thread count.
    /// </summary>
    public static void For(int count, int minChunk, Action<int, int> body)
    {
        if (count <= 0) return;
        int threads = Math.Min(MaxThreads, Math.Max(1, count / Math.Max(1, minChunk)));
        if (threads <= 1 || t_inParallelBody)
        {
            body(0, count);
            return;
        }
        // Eight chunks per thread: a thread the host stalls near the end holds up at most 1/16 of a
        // 2-thread loop (four per thread measured slower).
        int chunks = Math.Min(count, threads * 8);
        int chunkSize = (count + chunks - 1) / chunks;
        KernelWorkers.Run(count, chunkSize, threads, body);
    }
}
