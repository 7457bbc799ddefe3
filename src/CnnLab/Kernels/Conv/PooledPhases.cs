using System.Buffers;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend as in ConvReluMaxPoolKernel.cs; phase k = 2r + s of a plane holds its rows r, r + 2, … and columns s, s + 2, ….

/// <summary>
/// pooled = maxpool(max(0, conv(x, w) + b)) of a dilated convolution that runs in phases (<see cref="DilatedPhases"/>) where the
/// pool's window and stride are its dilation, 2x2: window (i, j) holds y[2i + r, 2j + s], which is phase (r, s)'s output at
/// (i, j). So each pooled value is the maximum of the four phase planes at one place, taken in the window's scan order
/// (top-left, top-right, bottom-left, bottom-right = phases 0, 1, 2, 3), and the phases are never merged back into y.
/// Block by block of images in cache: x's phases, the ordinary convolution on them (ReLU in its epilogue), the four-way maximum.
/// The same values and argmax as the convolution in phases, the ReLU and the pool one after another, bit for bit.
/// </summary>
internal static unsafe class PooledPhases
{
    /// <summary>Whether <paramref name="pool"/> pools each window of <paramref name="g"/>'s output from one place of its four phases.</summary>
    public static bool Fits(in Conv2dGeometry g, in Pool2dGeometry pool) =>
        g.DH == 2 && g.DW == 2 && MaxPool2dKernel.IsWhole2x2(pool) && 2 * pool.OH == g.OH && 2 * pool.OW == g.OW;

    /// <summary>
    /// <see cref="ConvReluMaxPoolKernel.ForwardCached"/> of a convolution <see cref="ConvPlanner.DilationPhases"/> gave
    /// <paramref name="inner"/> for, with a pool that <see cref="Fits"/>.
    /// </summary>
    public static void Forward(in Conv2dGeometry g, in Conv2dGeometry inner, in Pool2dGeometry pool, ReadOnlySpan<float> x,
        ReadOnlySpan<float> w, ReadOnlySpan<float> b, bool hasBias, Span<float> pooled, Span<int> argmax, CachedWeights? weightsKey)
    {
        var plan = ConvPlanCache.Forward(inner, weightsKey, w, ConvAlgorithm.Auto, out var owned);
        using var _ = owned;
        var geo = g;
        int xImage = g.C * g.H * g.W, phaseOut = inner.OC * inner.ColCols, oh2 = pool.OH, ow2 = pool.OW, q = oh2 * ow2, ow = g.OW;
        // Images a block: the inner plan's block holds four phase images of each.
        int block = Math.Max(1, plan.ImagesPerBlock / 4);
        fixed (float* px = x, pb = b, pp = pooled, pw = w)
        fixed (int* pi = argmax)
        {
            nint xs = (nint)px, bs = (nint)pb, ps = (nint)pp, isx = (nint)pi, wp = (nint)pw;
            plan.ForImages(g.N, (start, end) =>
            {
                using var workspace = plan.Rent((float*)wp);
                int most = Math.Min(block, end - start);
                float[] phasesIn = ArrayPool<float>.Shared.Rent(most * xImage), phasesOut = ArrayPool<float>.Shared.Rent(most * 4 * phaseOut);
                fixed (float* pin = phasesIn, pout = phasesOut)
                    for (int n = start; n < end; n += block)
                    {
                        int count = Math.Min(block, end - n);
                        for (int k = 0; k < count; k++)
                            DilatedPhases.SplitImage((float*)xs + (long)(n + k) * xImage, geo.C, geo.H, geo.W, 2, 2, pin + (long)k * xImage,
                                xImage / 4);
                        for (int i = 0; i < 4 * count; i += plan.ImagesPerBlock)
                        {
                            int run = Math.Min(plan.ImagesPerBlock, 4 * count - i);
                            plan.Run(workspace, phasesIn.AsSpan(i * (xImage / 4), run * (xImage / 4)), run, hasBias ? (float*)bs : null,
                                act: true, phasesOut.AsSpan(i * phaseOut, run * phaseOut));
                        }
                        for (int k = 0; k < count; k++)
                        {
                            long at = (long)(n + k) * geo.OC * q;
                            PoolImage(pout + (long)k * 4 * phaseOut, phaseOut, geo.OC, oh2, ow2, ow, (float*)ps + at,
                                isx == 0 ? null : (int*)isx + at);
                        }
                    }
                ArrayPool<float>.Shared.Return(phasesIn);
                ArrayPool<float>.Shared.Return(phasesOut);
            });
        }
    }

    /// <summary>
    /// pooled [channels, oh, ow2] (and argmax, where not null: the index in the [2·oh, ow] plane) of one image from its four phase
    /// outputs, phase k's [channels, oh, ow2] at <paramref name="phases"/> + k·<paramref name="phaseImage"/>, by the pool's rule
    /// (<see cref="MaxPool2dKernel.Pick2x2"/>: the first NaN, else the first strict maximum, in scan order).
    /// </summary>
    internal static void PoolImage(float* phases, long phaseImage, int channels, int oh, int ow2, int ow, float* pooled, int* argmax)
    {
        float* p0 = phases, p1 = phases + phaseImage, p2 = p1 + phaseImage, p3 = p2 + phaseImage;
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < oh; i++)
            {
                long row = ((long)c * oh + i) * ow2;
                int first = 2 * i * ow, j = 0;
                if (Avx512F.IsSupported)
                    for (; j < ow2; j += 16)
                    {
                        var mask = LaneMask.First(Math.Min(16, ow2 - j)).AsSingle();
                        long o = row + j;
                        var (a, bb, cc, d) = (Load(p0 + o, mask), Load(p1 + o, mask), Load(p2 + o, mask), Load(p3 + o, mask));
                        if (argmax == null)
                        {
                            Avx512F.MaskStore(pooled + o, mask, MaxPool2dKernel.Max2x2(a, bb, cc, d));
                            continue;
                        }
                        MaxPool2dKernel.Pick2x2(a, bb, cc, d, Vector512.Create(ow), Vector512.Create(ow + 1), out var best, out var at);
                        Avx512F.MaskStore(pooled + o, mask, best);
                        var index = Vector512.Create(first + 2 * j) + Vector512<int>.Indices * 2 + at;
                        Avx512F.MaskStore(argmax + o, mask.AsInt32(), index);
                    }
                for (; j < ow2; j++)
                {
                    long o = row + j;
                    pooled[o] = MaxPool2dKernel.Pick2x2Window(p0[o], p1[o], p2[o], p3[o], ow, ow + 1, out int at);
                    if (argmax != null) argmax[o] = first + 2 * j + at;
                }
            }
    }

    private static Vector512<float> Load(float* at, Vector512<float> mask) => Avx512F.MaskLoad(at, mask, Vector512<float>.Zero);
}
