using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

/// <summary>
/// Software prefetch of a region a kernel reads next. The hardware prefetchers follow one stream well, but a loop that
/// moves to another plane (a channel of 784 floats, a block of 16 planes read at once) restarts them, and each start
/// waits on L3 or memory; asking for the next plane's lines while this one is worked on hides that wait.
/// </summary>
internal static unsafe class CacheLines
{
    /// <summary>Asks for every 64-byte line of <paramref name="floats"/> floats from <paramref name="start"/> into L1.</summary>
    public static void Prefetch(float* start, long floats)
    {
        if (!Sse.IsSupported) return;
        for (long f = 0; f < floats; f += 16) Sse.Prefetch0(start + f);
    }

    /// <summary>
    /// Floats to move on after each prefetch so that <paramref name="iterations"/> of them, one per iteration of a kernel's
    /// inner loop, cover <paramref name="floats"/> floats (at least 1). A region read from memory all at once (the next
    /// image's input, copied into padded planes) stalls the core; asked for like this (<see cref="Ahead"/>) while the loop
    /// before it runs, it is in L2 when its turn comes. Asked for a block's worth at a time, the prefetches themselves
    /// waited for free miss buffers and gained nothing.
    /// </summary>
    public static nint StepOver(long floats, long iterations)
    {
        long steps = Math.Max(1, iterations);
        return (nint)Math.Max(1, (floats + steps - 1) / steps);
    }

    /// <summary>
    /// Whether a kernel's loop asks for lines ahead (<see cref="Ahead"/>): a type parameter, so that the loop compiled for
    /// <see cref="NoAhead"/> (a single image: nothing comes next) carries no check (1-1.5 % of all-conv's batch-1 latency).
    /// </summary>
    public interface IAhead
    {
        static abstract bool Asks { get; }
    }

    public struct AskAhead : IAhead
    {
        public static bool Asks => true;
    }

    public struct NoAhead : IAhead
    {
        public static bool Asks => false;
    }

    /// <summary>Asks for the line holding <paramref name="at"/> into L2 and moves on by <paramref name="step"/> floats (none when null).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static void Ahead(ref float* at, nint step)
    {
        if (at == null || !Sse.IsSupported) return;
        Sse.Prefetch1(at);
        at += step;
    }
}
