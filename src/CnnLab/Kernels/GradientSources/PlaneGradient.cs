using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

/// <summary>
/// dL/d(an op's output), one [S]-sized plane (one image's channel) at a time, for backward kernels that
/// consume it plane by plane: either dy as stored, or rebuilt on the spot for a fused op whose output
/// was never stored. The pointers belong to spans the caller keeps fixed during the backward.
/// </summary>
internal abstract unsafe class PlaneGradient(int planeSize)
{
    /// <summary>Floats per plane.</summary>
    public readonly int PlaneSize = planeSize;

    /// <summary>
    /// The gradient of plane <paramref name="plane"/> (index n·C + c); may be written into <paramref name="scratch"/>
    /// (PlaneSize floats).
    /// </summary>
    public abstract ReadOnlySpan<float> Plane(long plane, Span<float> scratch);

    /// <summary>
    /// Asks the CPU to start loading what <see cref="Plane"/> will read for <paramref name="plane"/>: a
    /// caller that walks one channel's planes (N·C apart, each only a few hundred bytes long) gives the
    /// hardware prefetchers too short a run to follow.
    /// </summary>
    public abstract void Prefetch(long plane);

    /// <summary>Prefetches <paramref name="floats"/> floats from <paramref name="start"/>, one request per cache line.</summary>
    public static unsafe void PrefetchRange(float* start, long floats)
    {
        if (!Sse.IsSupported) return;
        for (long i = 0; i < floats; i += 16) Sse.Prefetch0(start + i);
    }
}

/// <summary>dy as stored, [planes, S].</summary>
internal sealed unsafe class StoredPlanes(float* dy, int planeSize) : PlaneGradient(planeSize)
{
    public override ReadOnlySpan<float> Plane(long plane, Span<float> scratch) => new(dy + plane * PlaneSize, PlaneSize);

    public override void Prefetch(long plane) => PrefetchRange(dy + plane * PlaneSize, PlaneSize);
}

/// <summary>The gradient of x where y = max(0, x): dy·[y &gt; 0], plane by plane (the ReLU's backward, same bits).</summary>
internal sealed unsafe class ReluMaskedPlanes(float* dy, float* y, int planeSize) : PlaneGradient(planeSize)
{
    public override ReadOnlySpan<float> Plane(long plane, Span<float> scratch)
    {
        var dst = scratch[..PlaneSize];
        long at = plane * PlaneSize;
        ReluKernel.BackwardOnThisThread(new ReadOnlySpan<float>(y + at, PlaneSize), new ReadOnlySpan<float>(dy + at, PlaneSize), dst);
        return dst;
    }

    public override void Prefetch(long plane)
    {
        PrefetchRange(dy + plane * PlaneSize, PlaneSize);
        PrefetchRange(y + plane * PlaneSize, PlaneSize);
    }
}
