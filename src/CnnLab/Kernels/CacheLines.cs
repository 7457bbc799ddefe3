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
}
