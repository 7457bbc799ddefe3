using System.Collections.Concurrent;
using CnnLab.Kernels;
using Xunit;

namespace CnnLab.Tests.Kernels;

/// <summary>
/// The helper threads behind <see cref="Parallelism.For"/>: every chunk runs exactly once, helpers take
/// part, exceptions reach the caller, nested and concurrent loops, and helpers that have parked wake up.
/// </summary>
public class KernelWorkersTests
{
    // Guards against a lost wake-up turning a failure into a hung test run.
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(1, 1, 2)]
    [InlineData(7, 1, 2)]
    [InlineData(100, 3, 2)]
    [InlineData(1000, 16, 3)]
    [InlineData(1000, 1000, 2)]
    [InlineData(1001, 7, 4)]
    public void EveryItemRunsExactlyOnce(int count, int chunkSize, int threads)
    {
        var hits = new int[count];
        var ranges = new ConcurrentBag<(int, int)>();
        KernelWorkers.Run(count, chunkSize, threads, (start, end) =>
        {
            ranges.Add((start, end));
            for (int i = start; i < end; i++) Interlocked.Increment(ref hits[i]);
        });
        Assert.All(hits, h => Assert.Equal(1, h));
        Assert.Equal((count + chunkSize - 1) / chunkSize, ranges.Count);
        Assert.All(ranges, r => Assert.True(r.Item1 % chunkSize == 0 && r.Item2 - r.Item1 <= chunkSize && r.Item2 > r.Item1));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void HelpersTakeChunks(bool afterParking)
    {
        // Each chunk waits (up to 200 ms) for a second thread to show up; after a pause longer than
        // IdlePoll the helper has parked and must be woken. Another test's loop may hold the helpers for
        // a moment (this one then runs on its caller alone), so a few attempts are allowed.
        bool sawHelper = false;
        for (int attempt = 0; attempt < 20 && !sawHelper; attempt++)
        {
            if (afterParking) Thread.Sleep(Parallelism.IdlePoll * 3);
            var threads = new ConcurrentDictionary<int, bool>();
            KernelWorkers.Run(4, 1, 2, (_, _) =>
            {
                threads[Environment.CurrentManagedThreadId] = true;
                var until = DateTime.UtcNow.AddMilliseconds(200);
                while (threads.Count < 2 && DateTime.UtcNow < until) Thread.Sleep(1);
            });
            sawHelper = threads.Count >= 2;
        }
        Assert.True(sawHelper, "no helper thread ran a chunk in 20 loops");
    }

    [Fact]
    public void WithoutPollingHelpersSleepAtOnceAndStillTakePart()
    {
        var saved = Parallelism.IdlePoll;
        Parallelism.IdlePoll = TimeSpan.Zero;
        try
        {
            bool sawHelper = false;
            for (int round = 0; round < 200; round++)
            {
                var threads = new ConcurrentDictionary<int, bool>();
                int total = 0;
                KernelWorkers.Run(4, 1, 2, (start, end) =>
                {
                    threads[Environment.CurrentManagedThreadId] = true;
                    Interlocked.Add(ref total, end - start);
                    // Now and then wait (up to 200 ms) for a helper to arrive: a parked helper must still be woken. Another
                    // test's loop may hold the helpers for a moment, so a fixed short sleep made this fail on busy hosts.
                    if (round % 20 != 0) return;
                    var until = DateTime.UtcNow.AddMilliseconds(200);
                    while (threads.Count < 2 && DateTime.UtcNow < until) Thread.Sleep(1);
                });
                Assert.Equal(4, total);
                sawHelper |= threads.Count >= 2;
            }
            Assert.True(sawHelper, "no helper thread ran a chunk in 200 loops");
        }
        finally
        {
            Parallelism.IdlePoll = saved;
        }
    }

    [Theory]
    [InlineData(-1.0)]
    [InlineData(1001.0)]
    public void IdlePollOutsideZeroToOneSecondIsRejected(double milliseconds)
    {
        var saved = Parallelism.IdlePoll;
        Assert.Throws<ArgumentOutOfRangeException>(() => Parallelism.IdlePoll = TimeSpan.FromMilliseconds(milliseconds));
        Assert.Equal(saved, Parallelism.IdlePoll);
    }

    [Fact]
    public void NoMoreThreadsThanCoresRunChunks()
    {
        var threads = new ConcurrentDictionary<int, bool>();
        KernelWorkers.Run(256, 1, 64, (_, _) =>
        {
            threads[Environment.CurrentManagedThreadId] = true;
            Thread.SpinWait(2000);
        });
        Assert.InRange(threads.Count, 1, Environment.ProcessorCount);
    }

    [Fact]
    public void FirstExceptionReachesTheCallerAndTheWorkersStayUsable()
    {
        int ran = 0;
        var e = Assert.Throws<InvalidOperationException>(() => KernelWorkers.Run(64, 1, 2, (start, _) =>
        {
            Interlocked.Increment(ref ran);
            if (start == 5) throw new InvalidOperationException("chunk 5 failed");
        }));
        Assert.Equal("chunk 5 failed", e.Message);
        Assert.InRange(ran, 1, 64);

        long sum = 0;
        KernelWorkers.Run(100, 10, 2, (start, end) => { for (int i = start; i < end; i++) Interlocked.Add(ref sum, i); });
        Assert.Equal(4950, sum);
    }

    [Fact]
    public void NestedLoopRunsInlineOnItsChunksThread()
    {
        var mismatches = 0;
        KernelWorkers.Run(8, 1, 2, (_, _) =>
        {
            int outer = Environment.CurrentManagedThreadId;
            Parallelism.For(1000, 1, (_, _) =>
            {
                if (Environment.CurrentManagedThreadId != outer) Interlocked.Increment(ref mismatches);
            });
        });
        Assert.Equal(0, mismatches);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    public void LoopStartedInsideAChunkRunsOnThatThreadAndBothFinish(int outerChunks)
    {
        // With one outer chunk the helpers are idle: the inner loop must still not be handed to them
        // (the caller's gate is reentrant, so only the in-a-chunk check keeps it on this thread).
        var inner = new int[outerChunks * 50];
        int mismatches = 0;
        KernelWorkers.Run(outerChunks, 1, 2, (outerStart, _) =>
        {
            int thread = Environment.CurrentManagedThreadId;
            KernelWorkers.Run(50, 5, 2, (start, end) =>
            {
                if (Environment.CurrentManagedThreadId != thread) Interlocked.Increment(ref mismatches);
                for (int i = start; i < end; i++) Interlocked.Increment(ref inner[outerStart * 50 + i]);
                Thread.Sleep(1);
            });
        });
        Assert.Equal(0, mismatches);
        Assert.All(inner, h => Assert.Equal(1, h));
    }

    [Fact]
    public async Task ConcurrentCallersEachGetTheirWholeLoop()
    {
        var callers = Enumerable.Range(0, 4).Select(c => Task.Run(() =>
        {
            for (int round = 0; round < 300; round++)
            {
                long sum = 0;
                KernelWorkers.Run(64 + c, 4, 2, (start, end) => { for (int i = start; i < end; i++) Interlocked.Add(ref sum, i); });
                long n = 64 + c;
                if (sum != n * (n - 1) / 2) return false;
            }
            return true;
        })).ToArray();
        bool[] results = await Task.WhenAll(callers).WaitAsync(Limit); // TimeoutException if they hang
        Assert.All(results, Assert.True);
    }

    [Fact]
    public async Task BackToBackAndAfterParkingLoopsAllFinish()
    {
        // Tight loops (helpers still polling) and loops after a pause longer than IdlePoll (helpers
        // parked), interleaved: a lost wake-up would hang here.
        var run = Task.Run(() =>
        {
            int idle = (int)(Parallelism.IdlePoll.TotalMilliseconds * 3) + 1;
            for (int round = 0; round < 20; round++)
            {
                for (int i = 0; i < 500; i++)
                {
                    int total = 0;
                    KernelWorkers.Run(16, 1, 2, (start, end) => Interlocked.Add(ref total, end - start));
                    if (total != 16) return false;
                }
                Thread.Sleep(idle);
            }
            return true;
        });
        Assert.True(await run.WaitAsync(Limit)); // TimeoutException if they hang
    }
}
