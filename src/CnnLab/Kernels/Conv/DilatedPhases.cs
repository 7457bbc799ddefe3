using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend as in Conv2dKernel.cs; D = DH·DW phases, phase (r, s) of a plane: its rows r, r + DH, … and columns s, s + DW, ….

/// <summary>
/// A dilated convolution of stride 1 run as an ordinary one on its phase planes. Where the sides and the padding are
/// multiples of the dilation, y's phase (r, s) = conv(x's phase (r, s), w) with padding PH/DH, PW/DW and no dilation: tap u
/// of the dilated kernel reads u·DH rows on, u rows of the phase. So the batch's phases are a batch of N·D images of
/// (H/DH)x(W/DW) (image n's phase (r, s) is image n·D + r·DW + s) for the ordinary convolution, whose Winograd kernels cannot
/// take dilation (<see cref="ConvPlanner.DilationPhases"/> decides); dx comes back from its phases the same way. Each output
/// is a sum over the same products as <see cref="Conv2dReference"/>'s, in the ordinary kernels' order; dW and db are the
/// dilated planes' own (<see cref="ConvBackwardPass"/>'s: db the same bits as every path).
/// </summary>
/// <remarks>PyTorch: <c>F.conv2d(..., dilation=d)</c>; TensorFlow's <c>atrous_conv2d</c> does this rewrite (space to batch).</remarks>
internal static unsafe class DilatedPhases
{
    /// <summary>y (or an activation of it) of a convolution <see cref="ConvPlanner.DilationPhases"/> gave <paramref name="inner"/> for.</summary>
    public static void Forward(in Conv2dGeometry g, in Conv2dGeometry inner, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b,
        bool hasBias, Span<float> y, bool relu, Span<double> planeMeans, Span<double> planeSquares, CachedWeights? weightsKey,
        Conv2dKernel.BlockActivation? activation, int yImageOut)
    {
        int yImage = g.OC * g.ColCols;
        float[] xs = Rent((long)g.N * g.C * g.H * g.W), zs = Rent((long)g.N * yImage);
        float[]? z = activation is null ? null : Rent((long)g.N * yImage);
        try
        {
            fixed (float* px = x, pxs = xs) Split(px, g.N, g.C, g.H, g.W, g.DH, g.DW, pxs);
            Conv2dKernel.ForwardCached(inner, xs, w, b, hasBias, zs, relu, default, default, weightsKey, ConvAlgorithm.Auto);
            fixed (float* pzs = zs, py = y, pz = z)
            {
                Merge(pzs, g.N, g.OC, g.OH, g.OW, g.DH, g.DW, z is null ? py : pz, add: false);
                nint ys = (nint)py, zAll = (nint)pz;
                var geo = g;
                var act = activation;
                bool statistics = !planeMeans.IsEmpty;
                fixed (double* pm = planeMeans, pq = planeSquares)
                {
                    nint ms = (nint)pm, qs = (nint)pq;
                    Parallelism.For(g.N, 1, (n0, n1) =>
                    {
                        for (int n = n0; n < n1; n++)
                        {
                            if (act is not null)
                                act(n, new Span<float>((float*)zAll + (long)n * yImage, yImage),
                                    new Span<float>((float*)ys + (long)n * yImageOut, yImageOut));
                            if (!statistics) continue;
                            int p = geo.ColCols;
                            for (int o = 0; o < geo.OC; o++)
                                (((double*)ms)[n * geo.OC + o], ((double*)qs)[n * geo.OC + o]) =
                                    BatchNormPlanes.MeanAndSquaredDeviations(new ReadOnlySpan<float>((float*)ys + (long)n * yImage + o * p, p));
                        }
                    });
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(xs);
            ArrayPool<float>.Shared.Return(zs);
            if (z is not null) ArrayPool<float>.Shared.Return(z);
        }
    }

    /// <summary>
    /// dx (written or added), dW and db (added) of such a convolution, dL/dy image by image from <paramref name="source"/>: dx from
    /// the phases; dW from them too where the ordinary convolution's is a Winograd one (<see cref="ConvPlanner.PhaseWeightGradient"/>),
    /// else from the dilated planes by the kernel the planner takes for them; db from the dilated planes' dy, summed as every
    /// other path sums it. Does none of <see cref="Conv2dKernel.BackwardCore"/>'s finishing of dx (its caller then does them, as
    /// for the depthwise kernel).
    /// </summary>
    public static void Backward(in Conv2dGeometry g, in Conv2dGeometry inner, ReadOnlySpan<float> x, ReadOnlySpan<float> w,
        ConvOutputGradient source, Span<float> dx, Span<float> dw, Span<float> db, bool overwriteDx)
    {
        var weightGradient = ConvPlanner.Plan(g).WeightGradient;   // pinned below: a pinned plan never runs in phases
        if (dx.IsEmpty)
        {
            Conv2dKernel.BackwardCore(g, x, w, source, dx, dw, db, overwriteDx, weightGradient);
            return;
        }
        bool phasesDw = !dw.IsEmpty && ConvPlanner.PhaseWeightGradient(inner);
        long xLength = (long)g.N * g.C * g.H * g.W, yLength = (long)g.N * g.OC * g.ColCols;
        float[] dyPhases = Rent(yLength), dxPhases = Rent(xLength);
        float[]? dyAll = (dw.IsEmpty || phasesDw) && db.IsEmpty ? null : Rent(yLength), xPhases = phasesDw ? Rent(xLength) : null;
        try
        {
            fixed (float* pdy = dyPhases, pall = dyAll)
                Collect(g, source, pdy, pall);
            // dx alone reads no x: the inner convolution is then handed x itself, of the same length, in place of its phases.
            if (xPhases is not null)
                fixed (float* px = x, pxs = xPhases) Split(px, g.N, g.C, g.H, g.W, g.DH, g.DW, pxs);
            fixed (float* pdy = dyPhases)
                Conv2dKernel.BackwardCore(inner, xPhases is null ? x : xPhases.AsSpan(0, (int)xLength), w, new PlainGradient(inner, pdy),
                    dxPhases, phasesDw ? dw : default, default, overwriteDx: true, ConvAlgorithm.Auto);
            fixed (float* pdxs = dxPhases, pdx = dx) Merge(pdxs, g.N, g.C, g.H, g.W, g.DH, g.DW, pdx, add: !overwriteDx);
            if (dyAll is not null)
                fixed (float* pall = dyAll)
                    Conv2dKernel.BackwardCore(g, x, w, new PlainGradient(g, pall), default, phasesDw ? default : dw, db, overwriteDx: true,
                        weightGradient);
        }
        finally
        {
            foreach (var buffer in new[] { dyPhases, dxPhases, dyAll, xPhases })
                if (buffer is not null) ArrayPool<float>.Shared.Return(buffer);
        }
    }

    // dy of each image from the source into its phases (and into `all`, where not null).
    private static void Collect(Conv2dGeometry g, ConvOutputGradient source, float* phases, float* all)
    {
        nint ps = (nint)phases, alls = (nint)all;
        int p = g.ColCols, block = g.OCg * p, d = g.DH * g.DW;
        long phasePlane = (long)p / d;
        Parallelism.For(g.N, 1, (n0, n1) =>
        {
            float[] scratch = ArrayPool<float>.Shared.Rent(block);
            for (int n = n0; n < n1; n++)
                for (int grp = 0; grp < g.G; grp++)
                {
                    var dy = source.ForImage(n, grp, scratch);
                    int first = grp * g.OCg;
                    fixed (float* pdy = dy)
                    {
                        SplitImage(pdy, g.OCg, g.OH, g.OW, g.DH, g.DW,
                            (float*)ps + ((long)n * d * g.OC + first) * phasePlane, g.OC * phasePlane);
                        if (alls != 0)
                            new ReadOnlySpan<float>(pdy, block).CopyTo(new Span<float>((float*)alls + ((long)n * g.OC + first) * p, block));
                    }
                }
            ArrayPool<float>.Shared.Return(scratch);
        });
    }

    /// <summary>The phases [images·D, channels, H/DH, W/DW] of <paramref name="planes"/> [images, channels, H, W].</summary>
    public static void Split(float* planes, int images, int channels, int h, int w, int dh, int dw, float* phases)
    {
        nint src = (nint)planes, dst = (nint)phases;
        long image = (long)channels * h * w;
        Parallelism.For(images, 1, (n0, n1) =>
        {
            for (int n = n0; n < n1; n++)
                SplitImage((float*)src + n * image, channels, h, w, dh, dw, (float*)dst + n * image, image / (dh * dw));
        });
    }

    // One image's phases, phase k's [channels, H/DH, W/DW] at phases + k·phaseImage.
    internal static void SplitImage(float* image, int channels, int h, int w, int dh, int dw, float* phases, long phaseImage)
    {
        int ph = h / dh, pw = w / dw;
        for (int c = 0; c < channels; c++)
            for (int r = 0; r < dh; r++)
                for (int a = 0; a < ph; a++)
                {
                    float* row = image + ((long)c * h + a * dh + r) * w, to = phases + (long)r * dw * phaseImage + ((long)c * ph + a) * pw;
                    if (dw == 2 && Avx512F.IsSupported) Deinterleave(row, to, to + phaseImage, w);
                    else
                        for (int s = 0; s < dw; s++)
                            for (int i = 0; i < pw; i++) to[s * phaseImage + i] = row[(long)i * dw + s];
                }
    }

    private static readonly Vector512<int> Odds = StrideTwoRows.Evens + Vector512<int>.One;

    // even[i] = row[2i], odd[i] = row[2i + 1] for i < w/2 (w even): 32 floats of the row by two loads and two two-source
    // permutes, the last partial 32 through masks (planes of 16 columns have rows of one masked step).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Deinterleave(float* row, float* even, float* odd, int w)
    {
        for (int x = 0; x < w; x += 32)
        {
            int left = w - x;
            Vector512<float> low, high;
            if (left >= 32) (low, high) = (Vector512.Load(row + x), Vector512.Load(row + x + 16));
            else
            {
                low = Avx512F.MaskLoad(row + x, LaneMask.First(left).AsSingle(), Vector512<float>.Zero);
                high = Avx512F.MaskLoad(row + x + 16, LaneMask.First(left - 16).AsSingle(), Vector512<float>.Zero);
            }
            var e = Avx512F.PermuteVar16x32x2(low, StrideTwoRows.Evens, high);
            var o = Avx512F.PermuteVar16x32x2(low, Odds, high);
            if (left >= 32)
            {
                e.Store(even + x / 2);
                o.Store(odd + x / 2);
                continue;
            }
            var mask = LaneMask.First(left / 2).AsSingle();
            Avx512F.MaskStore(even + x / 2, mask, e);
            Avx512F.MaskStore(odd + x / 2, mask, o);
        }
    }

    /// <summary>
    /// planes [images, channels, H, W] written (or added to, with <paramref name="add"/>) from their phases (<see cref="Split"/>'s
    /// layout).
    /// </summary>
    public static void Merge(float* phases, int images, int channels, int h, int w, int dh, int dw, float* planes, bool add)
    {
        nint src = (nint)phases, dst = (nint)planes;
        long image = (long)channels * h * w, phaseImage = image / (dh * dw);
        int ph = h / dh, pw = w / dw;
        Parallelism.For(images, 1, (n0, n1) =>
        {
            for (int n = n0; n < n1; n++)
                for (int c = 0; c < channels; c++)
                    for (int r = 0; r < dh; r++)
                        for (int a = 0; a < ph; a++)
                        {
                            float* row = (float*)dst + n * image + ((long)c * h + a * dh + r) * w;
                            float* from = (float*)src + n * image + (long)r * dw * phaseImage + ((long)c * ph + a) * pw;
                            if (dw == 2) StrideTwoRows.Interleave(from, from + phaseImage, row, w, add);
                            else
                                for (int s = 0; s < dw; s++)
                                    for (int i = 0; i < pw; i++)
                                    {
                                        float v = from[s * phaseImage + i];
                                        row[(long)i * dw + s] = add ? row[(long)i * dw + s] + v : v;
                                    }
                        }
        });
    }

    private static float[] Rent(long length) => ArrayPool<float>.Shared.Rent(checked((int)Math.Max(1, length)));
}
