using System.Buffers;

namespace CnnLab.Kernels;

// Legend: g the convolution's geometry (x [N, C, H, W] → conv [N, OC, OH, OW]); pool the max pool's
// geometry on the convolution's output (pooled [N, OC, PH, PW], PH·PW = Q per plane).

/// <summary>
/// pooled = maxpool(max(0, conv(x, w) + b)) one image at a time: the convolution's output block of an
/// image ([OC, OH·OW], ~100 KB for cnn-small's first layer) is computed into a per-thread buffer and
/// pooled while it is in cache, so the full-size convolution output (12.8 MB at batch 128) is never
/// written, read back, or given a gradient of its own. The backward rebuilds d conv per image from the
/// pooled values and argmax indices (<see cref="MaxPoolReluGradient"/>). Same values and indices as the
/// three ops one after the other, bit for bit.
/// </summary>
/// <remarks>PyTorch: what oneDNN's post-op fusion does for conv → relu → max_pool2d.</remarks>
public static class ConvReluMaxPoolKernel
{
    /// <summary>
    /// Overwrites <paramref name="pooled"/> and <paramref name="argmax"/> [N, OC, PH, PW] (argmax: index within the OH·OW plane); with
    /// <paramref name="argmax"/> empty, the pooled values alone, for a forward no gradient will be taken of.
    /// </summary>
    public static unsafe void Forward(in Conv2dGeometry g, in Pool2dGeometry pool, ReadOnlySpan<float> x, ReadOnlySpan<float> w,
        ReadOnlySpan<float> b, bool hasBias, Span<float> pooled, Span<int> argmax, ConvAlgorithm algorithm = ConvAlgorithm.Auto) =>
        ForwardCached(g, pool, x, w, b, hasBias, pooled, argmax, weightsKey: null, algorithm);

    /// <summary>
    /// <see cref="Forward"/> with the weights' plan kept in <see cref="ConvPlanCache"/> under <paramref name="weightsKey"/> (null: none).
    /// A dilated convolution in phases under a pool of its dilation pools the phases themselves (<see cref="PooledPhases"/>).
    /// </summary>
    internal static unsafe void ForwardCached(in Conv2dGeometry g, in Pool2dGeometry pool, ReadOnlySpan<float> x, ReadOnlySpan<float> w,
        ReadOnlySpan<float> b, bool hasBias, Span<float> pooled, Span<int> argmax, CachedWeights? weightsKey, ConvAlgorithm algorithm)
    {
        Check(g, pool, x.Length, w.Length, pooled.Length, argmax.Length);
        if (ConvPlanner.DilationPhases(g, algorithm) is { } inner && PooledPhases.Fits(g, pool))
        {
            PooledPhases.Forward(g, inner, pool, x, w, b, hasBias, pooled, argmax, weightsKey);
            return;
        }
        var geo = g;
        var poolGeo = pool;
        int p = g.ColCols, q = pool.OH * pool.OW;
        var plan = ConvPlanCache.Forward(g, weightsKey, w, algorithm, out var owned);
        using var _ = owned;
        fixed (float* px = x, pb = b, pp = pooled, pw = w)
        fixed (int* pi = argmax)
        {
            nint xs = (nint)px, bs = (nint)pb, ps = (nint)pp, isx = (nint)pi, wp = (nint)pw;
            plan.ForImages(g.N, (start, end) =>
            {
                using var workspace = plan.Rent((float*)wp);
                float[] block = ArrayPool<float>.Shared.Rent(plan.ImagesPerBlock * geo.OC * p);
                var xAll = new ReadOnlySpan<float>((float*)xs, geo.N * geo.C * geo.H * geo.W);
                int xImage = geo.C * geo.H * geo.W;
                for (int n = start; n < end; n += plan.ImagesPerBlock)
                {
                    // conv [count, OC, P] = max(0, W * x + b), bias and ReLU applied as it is written, then pooled in cache.
                    int count = Math.Min(plan.ImagesPerBlock, end - n);
                    var conv = block.AsSpan(0, count * geo.OC * p);
                    plan.Run(workspace, xAll.Slice(n * xImage, count * xImage), count, hasBias ? (float*)bs : null, act: true, conv,
                        xAll.Slice((n + count) * xImage, (end - n - count) * xImage));
                    MaxPool2dKernel.ForwardOnThisThread(poolGeo with { N = count }, conv,
                        new Span<float>((float*)ps + (long)n * geo.OC * q, count * geo.OC * q),
                        isx == 0 ? default : new Span<int>((int*)isx + (long)n * geo.OC * q, count * geo.OC * q));
                }
                ArrayPool<float>.Shared.Return(block);
            });
        }
    }

    /// <summary>
    /// Accumulates dx, dw, db (each skipped when empty) from d pooled: d conv[argmax] += d pooled where
    /// pooled &gt; 0, then the convolution's backward, image by image. <paramref name="overwriteDx"/> as in
    /// <see cref="Conv2dKernel.Backward"/>.
    /// </summary>
    public static unsafe void Backward(in Conv2dGeometry g, in Pool2dGeometry pool, ReadOnlySpan<float> x, ReadOnlySpan<float> w,
        ReadOnlySpan<float> pooled, ReadOnlySpan<int> argmax, ReadOnlySpan<float> dPooled, Span<float> dx, Span<float> dw, Span<float> db,
        bool overwriteDx = false, ConvAlgorithm algorithm = ConvAlgorithm.Auto) =>
        BackwardMaskingDx(g, pool, x, w, pooled, argmax, dPooled, dx, dw, db, overwriteDx, algorithm, maskDxByInput: false);

    /// <summary>
    /// <see cref="Backward"/>, with dx·[x &gt; 0] where <paramref name="maskDxByInput"/> (x a ReLU's output) and then the
    /// gradient sums of <paramref name="inputSums"/> (the batch norm before that ReLU), as <see cref="Conv2dKernel.BackwardCore"/>
    /// does them; returns which it did.
    /// </summary>
    internal static unsafe DxFinish BackwardMaskingDx(in Conv2dGeometry g, in Pool2dGeometry pool, ReadOnlySpan<float> x, ReadOnlySpan<float> w,
        ReadOnlySpan<float> pooled, ReadOnlySpan<int> argmax, ReadOnlySpan<float> dPooled, Span<float> dx, Span<float> dw, Span<float> db,
        bool overwriteDx, ConvAlgorithm algorithm, bool maskDxByInput, BatchNormGradientSums? inputSums = null)
    {
        Check(g, pool, x.Length, w.Length, pooled.Length, argmax.Length);
        int q = pool.OH * pool.OW;
        if (dPooled.Length < g.N * g.OC * q) throw new ArgumentException($"d pooled has {dPooled.Length} elements, needs {g.N * g.OC * q}");
        fixed (float* pd = dPooled, pp = pooled)
        fixed (int* pi = argmax)
            return Conv2dKernel.BackwardCore(g, x, w, new MaxPoolReluGradient(g, pd, pp, pi, pool), dx, dw, db, overwriteDx, algorithm,
                maskDxByInput: maskDxByInput, inputSums: inputSums);
    }

    // The two geometries, x, w, and the pooled output and its argmax (for this kernel and the direct one-channel one).
    internal static void Check(in Conv2dGeometry g, in Pool2dGeometry pool, int xLen, int wLen, int pooledLen, int argmaxLen)
    {
        if (pool.N != g.N || pool.C != g.OC || pool.H != g.OH || pool.W != g.OW)
            throw new ArgumentException($"pool geometry {pool} does not match the convolution's output [N={g.N}, C={g.OC}, H={g.OH}, W={g.OW}]");
        Conv2dKernel.CheckInputs(g, xLen, wLen);
        long outs = (long)g.N * g.OC * pool.OH * pool.OW;
        if (pooledLen < outs || (argmaxLen != 0 && argmaxLen < outs)) throw new ArgumentException($"pooled and argmax need {outs} elements");
    }
}
