using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace CnnLab.Kernels;

/// <summary>
/// The persistent helper threads behind <see cref="Parallelism.For"/>: the calling thread and up to
/// <c>threads − 1</c> helpers take chunks of a loop from a shared counter until none are left.
/// </summary>
/// <remarks>
/// Written by hand rather than using <see cref="Parallel.For(int, int, Action{int})"/> because of how
/// long a parked thread takes to wake here. A training step runs about ten parallel loops with a few
/// serial microseconds to a millisecond between them; the .NET thread pool parks its workers after a
/// few microseconds of spinning, and on this project's virtual machines a parked thread (whose vCPU
/// has halted) takes longer to wake than most gaps between the loops, and now and then a helper never
/// arrives at all. So, as OpenMP's runtimes do (KMP_BLOCKTIME, GOMP_SPINCOUNT), a helper that
/// runs out of work polls for the next loop for <see cref="Parallelism.IdlePoll"/> before it parks on its
/// semaphore. The caller never spins on work split in advance: when it runs out of chunks it polls as
/// long for the ones still running (at most one per helper), then waits on an event.
/// One loop runs on the helpers at a time; a loop started while another holds them (another thread
/// of the application calling a kernel) runs on its caller alone, which gives the same results.
/// </remarks>
internal static class KernelWorkers
{
    private static readonly Lock s_gate = new();                  // held by the thread whose loop owns the helpers
    private static readonly ManualResetEventSlim s_finished = new(false, spinCount: 1);
    private static Helper[] s_helpers = [];
    private static Loop? s_loop;                                  // the latest loop handed to the helpers
    private static long s_generation;                             // bumped for each loop

    /// <summary>
    /// Runs <paramref name="body"/>(chunk start, chunk end) for chunks [c·chunkSize, min(count, (c+1)·chunkSize))
    /// on the calling thread and up to <paramref name="threads"/> − 1 helpers; returns when all are done.
    /// The first exception a chunk throws is rethrown here (after every chunk has finished or been skipped).
    /// </summary>
    public static void Run(int count, int chunkSize, int threads, Action<int, int> body)
    {
        int chunks = (count + chunkSize - 1) / chunkSize;
        // Inside a chunk (the gate is reentrant, so its owner would get in again) or while another
        // thread's loop holds the helpers: this loop runs on its caller alone.
        if (Parallelism.InParallelBody || !s_gate.TryEnter())
        {
            var alone = new Loop(body, count, chunkSize, chunks, 0);
            RunChunks(alone);
            alone.Error?.Throw();
            return;
        }
        try
        {
            // No more helpers than other cores: polling threads beyond them would only take turns with the
            // working ones (results do not depend on how many threads run the chunks).
            var loop = new Loop(body, count, chunkSize, chunks, Math.Min(Math.Min(threads, chunks), Environment.ProcessorCount) - 1);
            EnsureHelpers(loop.Helpers);
            s_finished.Reset();
            Volatile.Write(ref s_loop, loop);
            Interlocked.Increment(ref s_generation);
            for (int i = 0; i < loop.Helpers; i++) s_helpers[i].Wake();
            RunChunks(loop);
            // Chunks still running on helpers (at most one each): poll a while, as the helpers do, then
            // wait for the last one to signal (a Set left over from the previous loop costs one more check).
            long deadline = Stopwatch.GetTimestamp() + Parallelism.IdlePollTicks;
            int polls = 0;
            while (Volatile.Read(ref loop.Remaining) != 0 && Stopwatch.GetTimestamp() < deadline) Pause(ref polls);
            while (Volatile.Read(ref loop.Remaining) != 0)
            {
                s_finished.Wait();
                s_finished.Reset();
            }
            loop.Error?.Throw();
        }
        finally
        {
            s_gate.Exit();
        }
    }

    // Takes chunks of the loop until none are left; the thread that finishes the last one signals.
    private static void RunChunks(Loop loop)
    {
        while (true)
        {
            int c = Interlocked.Increment(ref loop.Next) - 1;
            if (c >= loop.Chunks) return;
            if (loop.Error is null)
            {
                int start = c * loop.ChunkSize;
                bool outer = Parallelism.EnterBody();
                try
                {
                    loop.Body(start, Math.Min(loop.Count, start + loop.ChunkSize));
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref loop.Error, ExceptionDispatchInfo.Capture(e), null);
                }
                finally
                {
                    Parallelism.ExitBody(outer);
                }
            }
            if (Interlocked.Decrement(ref loop.Remaining) == 0 && loop.Helpers > 0) s_finished.Set();
        }
    }

    // One poll of a wait: a short spin, and every 8th time the core handed to any other runnable thread.
    // Without the yields, polling threads on both cores kept the runtime's tiered-compilation thread
    // waiting, which slowed the first seconds of training.
    private static void Pause(ref int polls)
    {
        if ((++polls & 7) == 0) Thread.Yield();
        else Thread.SpinWait(20);
    }

    private static void EnsureHelpers(int needed)
    {
        if (s_helpers.Length >= needed) return;
        var helpers = new Helper[needed];
        Array.Copy(s_helpers, helpers, s_helpers.Length);
        for (int i = s_helpers.Length; i < needed; i++) helpers[i] = new Helper(i);
        s_helpers = helpers;
    }

    // One loop: its body, its chunks, the shared chunk counter and how many chunks are still to finish.
    // A new object per loop, so a helper still leaving an old loop cannot take a chunk of the next.
    private sealed class Loop(Action<int, int> body, int count, int chunkSize, int chunks, int helpers)
    {
        public readonly Action<int, int> Body = body;
        public readonly int Count = count, ChunkSize = chunkSize, Chunks = chunks, Helpers = helpers;
        public int Next;
        public int Remaining = chunks;
        public ExceptionDispatchInfo? Error;
    }

    // A background thread that runs its share of each loop it is part of, polls for the next for
    // Parallelism.IdlePoll, then parks on its semaphore until woken.
    private sealed class Helper
    {
        private readonly int _index;
        private readonly SemaphoreSlim _wake = new(0);
        private int _parked;

        public Helper(int index)
        {
            _index = index;
            new Thread(Work) { IsBackground = true, Name = $"CnnLab kernel helper {index + 1}" }.Start();
        }

        // Called by the loop's owner after publishing the loop: releases the helper if it is parked.
        public void Wake()
        {
            if (Interlocked.Exchange(ref _parked, 0) == 1) _wake.Release();
        }

        private void Work()
        {
            long seen = Interlocked.Read(ref s_generation);
            while (true)
            {
                WaitForLoop(seen);
                seen = Interlocked.Read(ref s_generation);
                var loop = Volatile.Read(ref s_loop);
                if (loop is not null && _index < loop.Helpers) RunChunks(loop);
            }
        }

        // Returns once s_generation has moved past `seen`: polls for Parallelism.IdlePoll, then parks.
        private void WaitForLoop(long seen)
        {
            long deadline = Stopwatch.GetTimestamp() + Parallelism.IdlePollTicks;
            int polls = 0;
            while (Interlocked.Read(ref s_generation) == seen)
            {
                if (Stopwatch.GetTimestamp() < deadline)
                {
                    Pause(ref polls);
                    continue;
                }
                Interlocked.Exchange(ref _parked, 1); // a full fence before the generation is read again
                if (Interlocked.Read(ref s_generation) != seen)
                {
                    // A loop arrived while parking: if its owner already took the flag, it also
                    // released the semaphore, which must be consumed.
                    if (Interlocked.Exchange(ref _parked, 0) == 0) _wake.Wait();
                    return;
                }
                _wake.Wait();
                return;
            }
        }
    }
}
