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

    /// <summary>The gradient of plane <paramref name="plane"/> (index n·C + c); may be written into <paramref name="scratch"/> (PlaneSize floats).</summary>
    public abstract ReadOnlySpan<float> Plane(long plane, Span<float> scratch);
}

/// <summary>dy as stored, [planes, S].</summary>
internal sealed unsafe class StoredPlanes(float* dy, int planeSize) : PlaneGradient(planeSize)
{
    public override ReadOnlySpan<float> Plane(long plane, Span<float> scratch) => new(dy + plane * PlaneSize, PlaneSize);
}

/// <summary>
/// The gradient of z where pooled = maxpool(max(0, z)): dz[argmax] += d pooled where pooled &gt; 0 (the
/// ReLU's output at the argmax is the pooled value itself), zero elsewhere: the same sums in the same
/// order as the max pool's backward followed by the ReLU's.
/// </summary>
internal sealed unsafe class MaxPoolReluPlanes(float* dPooled, float* pooled, int* argmax, int pooledPerPlane, int planeSize) : PlaneGradient(planeSize)
{
    public override ReadOnlySpan<float> Plane(long plane, Span<float> scratch)
    {
        var dst = scratch[..PlaneSize];
        dst.Clear();
        float* d = dPooled + plane * pooledPerPlane, v = pooled + plane * pooledPerPlane;
        int* idx = argmax + plane * pooledPerPlane;
        for (int k = 0; k < pooledPerPlane; k++)
        {
            if ((uint)idx[k] >= (uint)PlaneSize) throw new ArgumentException($"argmax index {idx[k]} is outside its plane of {PlaneSize} elements");
            // Branch-free (the sign of the pooled values is unpredictable); adding +0 where masked keeps
            // the same bits as the unfused ReLU backward's 0.
            dst[idx[k]] += v[k] > 0f ? d[k] : 0f;
        }
        return dst;
    }
}
