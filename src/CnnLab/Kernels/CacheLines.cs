using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

/// <summary>
/// Software prefetch of a region a kernel reads next. The hardware prefetchers follow one stream well, but a loop that
/// moves to another plane (a channel of 784 floats, a block of 16 planes read at once) restarts them, and each start
/// waits on L3 or memory; asking for the next plane's lines while this one is worked on hides that wait.
/// </summary>
internal static unsafe class CacheLines
{
    /// <summary>
    /// The first 64-byte boundary at or after <paramref name="p"/> (up to 15 floats on): vectors stored from there lie on whole
    /// cache lines, and a 512-bit load across two lines costs two. The memory must not move while it is used (pinned, or on
    /// the stack), and must have the 15 floats to spare.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float* LineStart(float* p) => (float*)(((nint)p + 63) & ~(nint)63);

    /// <summary>Asks for every 64-byte line of <paramref name="floats"/> floats from <paramref name="start"/> into L1.</summary>
    public static void Prefetch(float* start, long floats)
    {
        if (!Sse.IsSupported) return;
        for (long f = 0; f < floats; f += LineFloats) Sse.Prefetch0(start + f);
    }

    /// <summary>
    /// Floats to move on after each prefetch so that <paramref name="iterations"/> of them, one per iteration of a kernel's
    /// inner loop, cover <paramref name="floats"/> floats: from 1 (a line asked for again until the step passes it) to 16 (a
    /// line each), or 32 for a loop that asks for <paramref name="lines"/> = 2 an iteration; a region larger than that is
    /// covered from its start as far as the iterations reach. A region read from
    /// memory all at once (the next image's input, copied into padded planes) stalls the core; asked for like this
    /// (<see cref="PrefetchStream"/>) while the loop before it runs, it is in L2 when its turn comes. Asked for a block's
    /// worth at a time, the prefetches themselves waited for free miss buffers and gained nothing.
    /// </summary>
    public static nint StepOver(long floats, long iterations, int lines = 1)
    {
        long steps = Math.Max(1, iterations);
        return (nint)Math.Clamp((floats + steps - 1) / steps, 1, LineFloats * lines);
    }

    /// <summary>Floats of a 64-byte cache line.</summary>
    public const int LineFloats = 16;

    /// <summary>
    /// Whether a kernel's loop asks for lines ahead (<see cref="PrefetchStream"/>): a type parameter, so that the loop
    /// compiled for <see cref="NoAhead"/> (a single image: nothing comes next) carries no check (1-1.5 % of all-conv's
    /// batch-1 latency).
    /// </summary>
    public interface IAhead
    {
        static abstract bool Asks { get; }

        /// <summary>Whether each ask is for two lines (<see cref="PrefetchStream.AskTwo"/>).</summary>
        static virtual bool Twice => false;
    }

    public struct AskAhead : IAhead
    {
        public static bool Asks => true;
    }

    public struct AskAheadTwice : IAhead
    {
        public static bool Asks => true;

        public static bool Twice => true;
    }

    public struct NoAhead : IAhead
    {
        public static bool Asks => false;
    }
}

/// <summary>
/// A region [<see cref="At"/>, <see cref="End"/>) asked for into L2 a line at a time from inside a kernel's loop, <see cref="Step"/>
/// floats on after each ask (<see cref="CacheLines.StepOver"/>). A kernel takes <see cref="At"/> and <see cref="Step"/> alone
/// (<see cref="Ask"/>: checking an end inside the loop as well made weight gradients 8-11 % slower); its caller moves the
/// stream on a block at a time (<see cref="After"/>), and a stream past its end hands out null, so it runs at most a block
/// past it. The default asks for nothing.
/// </summary>
internal readonly unsafe struct PrefetchStream(float* at, float* end, nint step)
{
    public readonly float* At = at, End = end;
    public readonly nint Step = step;

    /// <summary>Whether the stream asks for nothing.</summary>
    public bool IsEmpty => At == null;

    /// <summary>The asks the stream has left before its end (0 for none).</summary>
    public long AsksLeft => At == null ? 0 : (End - At + Step - 1) / Step;

    /// <summary>
    /// <paramref name="floats"/> floats from <paramref name="region"/> (null: none) over <paramref name="iterations"/> asks of
    /// <paramref name="lines"/> lines each (2: <see cref="AskTwo"/>).
    /// </summary>
    public static PrefetchStream Over(float* region, long floats, long iterations, int lines = 1) =>
        region == null ? default : new(region, region + floats, CacheLines.StepOver(floats, iterations, lines));

    /// <summary>The stream after <paramref name="asks"/> more asks: none once it reaches its end.</summary>
    public PrefetchStream After(long asks) => At == null || At + Step * asks >= End ? default : new(At + Step * asks, End, Step);

    /// <summary>
    /// Asks for <paramref name="lines"/> lines (up to the end), a step apart, and returns the stream after them: for a loop
    /// whose iterations are long enough to ask for several each (a GEMM's micro-kernel calls).
    /// </summary>
    public PrefetchStream AskLines(int lines)
    {
        if (At == null || !Sse.IsSupported) return this;
        float* at = At;
        for (int i = 0; i < lines && at < End; i++, at += Step) Sse.Prefetch1(at);
        return at >= End ? default : new(at, End, Step);
    }

    /// <summary>
    /// Asks for the lines holding <paramref name="at"/> and half a step on (null: nothing); returns <paramref name="at"/> a step on.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float* AskTwo(float* at, nint step)
    {
        if (at == null || !Sse.IsSupported) return at;
        Sse.Prefetch1(at);
        Sse.Prefetch1(at + step / 2);
        return at + step;
    }

    /// <summary>Asks for the line holding <paramref name="at"/> (null: nothing) and returns <paramref name="at"/> a step on.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float* Ask(float* at, nint step)
    {
        if (at == null || !Sse.IsSupported) return at;
        Sse.Prefetch1(at);
        return at + step;
    }
}

/// <summary>
/// <see cref="PrefetchStream"/> over several equal regions: <paramref name="count"/> regions of <paramref name="floats"/> floats,
/// <paramref name="stride"/> floats apart (a group's channels of each image of a block), asked for a few lines at a time
/// (<see cref="Ask"/>) from a loop that runs long enough to cover them. Into L1 as well as L2: measured a little faster than
/// L2 alone for Winograd's next planes. The default asks for nothing.
/// </summary>
internal unsafe struct RegionStream(float* first, long stride, int count, long floats)
{
    private int _region;
    private long _at;

    /// <summary>The 64-byte lines the regions span (0 for none).</summary>
    public readonly long Lines => first == null ? 0 : count * ((floats + CacheLines.LineFloats - 1) / CacheLines.LineFloats);

    /// <summary>The lines to ask for at each of <paramref name="asks"/> asks to cover the regions (at most 64; 0: none).</summary>
    public readonly int PerAsk(long asks) => asks <= 0 ? 0 : (int)Math.Min(64, (Lines + asks - 1) / asks);

    /// <summary>Where the next ask starts (null once every region is covered, or for none).</summary>
    public readonly float* Next => first == null || _region >= count ? null : first + _region * stride + _at;

    /// <summary>Asks for the next <paramref name="lines"/> lines (fewer at the end of the last region).</summary>
    public void Ask(int lines)
    {
        if (first == null || !Sse.IsSupported) return;
        for (; lines > 0 && _region < count; lines--)
        {
            Sse.Prefetch0(first + _region * stride + _at);
            _at += CacheLines.LineFloats;
            if (_at >= floats) (_at, _region) = (0, _region + 1);
        }
    }
}
