namespace CnnLab.Kernels;

// Legend as in Conv2dKernel.cs: per image n and group g the convolution's output block is [OCg, P].

/// <summary>
/// Where a convolution's backward gets dL/d(its output), one image and group at a time: from dy itself,
/// or computed on the spot for a fused op that never stored the convolution's output gradient (dy
/// masked by a ReLU or another activation's derivative, or scattered back from a max pool). The pointers belong to spans the caller keeps
/// fixed for the duration of the backward.
/// </summary>
internal abstract unsafe class ConvOutputGradient(Conv2dGeometry g)
{
    protected readonly Conv2dGeometry Geometry = g;

    /// <summary>
    /// The [OCg, P] gradient block of image <paramref name="n"/>, group <paramref name="group"/>, possibly
    /// written into <paramref name="scratch"/> (at least OCg·P floats). The span starts with the block
    /// and may run on past it into readable memory (the rest of dy, or of the scratch), which lets a GEMM
    /// read the block's last row in place with its padding; only the first OCg·P floats are the block.
    /// </summary>
    public abstract ReadOnlySpan<float> ForImage(int n, int group, Span<float> scratch);

    /// <summary>
    /// The blocks of OCg·P floats that <see cref="ForImage"/> reads from memory for image <paramref name="n"/>, group
    /// <paramref name="group"/> (null where there are fewer, or where the reads are elsewhere), for a kernel to ask for
    /// while the image or group before runs.
    /// </summary>
    public virtual void Reads(int n, int group, out float* first, out float* second)
    {
        first = null;
        second = null;
    }

    protected long BlockOffset(int n, int group) => ((long)n * Geometry.OC + (long)group * Geometry.OCg) * Geometry.ColCols;

    protected int BlockLength => Geometry.OCg * Geometry.ColCols;

    protected long TotalLength => (long)Geometry.N * Geometry.OC * Geometry.ColCols;
}

/// <summary>dy as given.</summary>
internal sealed unsafe class PlainGradient(Conv2dGeometry g, float* dy) : ConvOutputGradient(g)
{
    public override void Reads(int n, int group, out float* first, out float* second)
    {
        first = dy + BlockOffset(n, group);
        second = null;
    }

    public override ReadOnlySpan<float> ForImage(int n, int group, Span<float> scratch)
    {
        long off = BlockOffset(n, group);
        return new(dy + off, (int)Math.Min(BlockLength + 16L, TotalLength - off));
    }
}

/// <summary>y = max(0, conv) → d conv = dy·[y &gt; 0], masked while the block is in cache.</summary>
internal sealed unsafe class ReluMaskedGradient(Conv2dGeometry g, float* dy, float* y) : ConvOutputGradient(g)
{
    public override void Reads(int n, int group, out float* first, out float* second)
    {
        first = dy + BlockOffset(n, group);
        second = y + BlockOffset(n, group);
    }

    public override ReadOnlySpan<float> ForImage(int n, int group, Span<float> scratch)
    {
        long off = BlockOffset(n, group);
        ReluKernel.BackwardOnThisThread(new ReadOnlySpan<float>(y + off, BlockLength), new ReadOnlySpan<float>(dy + off, BlockLength),
            scratch[..BlockLength]);
        return scratch;
    }
}

/// <summary>
/// y = f(conv) → d conv = dy·f′, computed per image while the block is in cache by the activation's own backward lanes
/// (x, y, dy). <paramref name="input"/> is the stored conv where the derivative needs it (GELU, a negative slope), else y
/// itself: LeakyReLU's and ELU's x &gt; 0 is y &gt; 0 for a slope or α of at least 0, and sigmoid's and tanh's read y
/// alone. The same values as the activation's backward on the stored conv.
/// </summary>
internal sealed unsafe class ActivationGradient<TBackward>(Conv2dGeometry g, float* dy, float* input, float* y, TBackward backward)
    : ConvOutputGradient(g) where TBackward : struct, ITernaryLanes
{
    // The stored input where it is not y (GELU, a negative slope) is a third block, not asked for.
    public override void Reads(int n, int group, out float* first, out float* second)
    {
        first = dy + BlockOffset(n, group);
        second = y + BlockOffset(n, group);
    }

    public override ReadOnlySpan<float> ForImage(int n, int group, Span<float> scratch)
    {
        long off = BlockOffset(n, group);
        ElementwiseLoop.MapOnThisThread(backward, new ReadOnlySpan<float>(input + off, BlockLength), new ReadOnlySpan<float>(y + off, BlockLength),
            new ReadOnlySpan<float>(dy + off, BlockLength), scratch[..BlockLength]);
        return scratch;
    }
}

/// <summary>pooled = maxpool(max(0, conv)): each plane of the block rebuilt by <see cref="MaxPoolReluPlanes"/>.</summary>
internal sealed unsafe class MaxPoolReluGradient(Conv2dGeometry g, float* dPooled, float* pooled, int* argmax, Pool2dGeometry pool)
    : ConvOutputGradient(g)
{
    private readonly MaxPoolReluPlanes _planes = new(dPooled, pooled, argmax, pool);

    public override ReadOnlySpan<float> ForImage(int n, int group, Span<float> scratch)
    {
        int p = Geometry.ColCols;
        for (int o = 0; o < Geometry.OCg; o++)
            _planes.Plane((long)n * Geometry.OC + group * Geometry.OCg + o, scratch.Slice(o * p, p));
        return scratch;
    }
}
