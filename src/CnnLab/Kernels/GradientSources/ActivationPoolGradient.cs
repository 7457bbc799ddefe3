using System.Buffers;

namespace CnnLab.Kernels;

/// <summary>
/// pooled = pool(f(conv)) in training, with conv kept and f(conv) not: d conv of one image and group rebuilt while it is in
/// cache. The pool's backward spreads d pooled into the block (max: to the forward's argmax; average: over each window),
/// f(conv) is computed again by its forward where f′ reads it, then dy·f′ by the activation's backward lanes (x, y, dy).
/// The same ops on the same values as the three layers' backwards one after the other: the same bits.
/// </summary>
internal sealed unsafe class ActivationPoolGradient<TBackward>(Conv2dGeometry g, Pool2dGeometry pool, bool average, bool countIncludePad,
    float* dPooled, int* argmax, float* z, Conv2dKernel.BlockActivation forward, bool readsOutput, TBackward backward)
    : ConvOutputGradient(g) where TBackward : struct, ITernaryLanes
{
    public override ReadOnlySpan<float> ForImage(int n, int group, Span<float> scratch)
    {
        int outputs = pool.OH * pool.OW, block = BlockLength;
        long first = ((long)n * Geometry.OC + (long)group * Geometry.OCg) * outputs;
        var planes = pool with { N = 1, C = Geometry.OCg };
        var d = new ReadOnlySpan<float>(dPooled + first, Geometry.OCg * outputs);
        var dy = scratch[..block];
        if (average)
        {
            dy.Clear();
            AvgPool2dKernel.BackwardOnThisThread(planes, countIncludePad, d, dy);
        }
        else MaxPool2dKernel.BackwardOnThisThread(planes, d, new ReadOnlySpan<int>(argmax + first, Geometry.OCg * outputs), dy);
        var x = new Span<float>(z + BlockOffset(n, group), block);
        float[]? y = readsOutput ? ArrayPool<float>.Shared.Rent(block) : null;
        if (y is not null) forward(n, x, y.AsSpan(0, block));
        ElementwiseLoop.MapOnThisThread(backward, x, y is null ? x : y.AsSpan(0, block), dy, dy);
        if (y is not null) ArrayPool<float>.Shared.Return(y);
        return scratch;
    }
}
