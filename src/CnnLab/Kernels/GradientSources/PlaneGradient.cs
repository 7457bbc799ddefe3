using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
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

/// <summary>
/// The gradient of u where y = max(0, u) and u = z·scale + shift, a batch norm's output before its ReLU: dy·[u &gt; 0] with u
/// recomputed from z per channel as <see cref="BatchNormPlanes.ScaleShiftRelu(ReadOnlySpan{float}, float, float, Span{float})"/>
/// computed it (a multiply, then an add), so that [u &gt; 0] is [y &gt; 0] and the bits are <see cref="ReluMaskedPlanes"/>'
/// on the stored y. The batch norm's backward reads z anyway, so y is not read at all: one stream of the batch fewer.
/// </summary>
internal sealed unsafe class ScaleShiftReluMaskedPlanes(float* dy, float* z, float[] scale, float[] shift, int channels, int planeSize)
    : PlaneGradient(planeSize)
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override ReadOnlySpan<float> Plane(long plane, Span<float> scratch)
    {
        var dst = scratch[..PlaneSize];
        int c = (int)(plane % channels);
        long at = plane * PlaneSize;
        float sc = scale[c], sh = shift[c];
        float* zp = z + at, dp = dy + at;
        int i = 0;
        fixed (float* d = dst)
        {
            if (Vector512.IsHardwareAccelerated)
            {
                Vector512<float> s = Vector512.Create(sc), h = Vector512.Create(sh);
                for (; i <= PlaneSize - 16; i += 16)
                {
                    var mask = Vector512.GreaterThan(Vector512.Load(zp + i) * s + h, Vector512<float>.Zero);
                    (Vector512.Load(dp + i) & mask).Store(d + i);
                }
            }
            for (; i < PlaneSize; i++) d[i] = zp[i] * sc + sh > 0f ? dp[i] : 0f;
        }
        return dst;
    }

    public override void Prefetch(long plane)
    {
        PrefetchRange(dy + plane * PlaneSize, PlaneSize);
        PrefetchRange(z + plane * PlaneSize, PlaneSize);
    }
}
