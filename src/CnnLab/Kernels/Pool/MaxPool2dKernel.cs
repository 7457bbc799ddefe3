using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend: N batch, C channels, H, W input, OH, OW output; window KH x KW, stride SH, SW, padding PH, PW,
// dilation DH, DW. x [N, C, H, W], y and argmaxIndices [N, C, OH, OW]; an index is h·W + w within its plane.

/// <summary>
/// Max pooling: y[n, c, i, j] = max over the window's taps inside the input of x[n, c, ·, ·]
/// (padding acts as −∞, so it never wins). The forward records where each max came from
/// (<c>argmaxIndices</c>); the backward routes each dy there. A NaN in the window wins, as in PyTorch.
/// Planes (n, c) run in parallel; each output is written by one thread, so results are deterministic.
/// </summary>
/// <remarks>PyTorch: <c>torch.nn.functional.max_pool2d(..., return_indices=True)</c> and <c>max_pool2d_with_indices_backward</c>.</remarks>
public static partial class MaxPool2dKernel
{
    /// <summary>Overwrites y and argmaxIndices.</summary>
    public static void Forward(in Pool2dGeometry g, ReadOnlySpan<float> x, Span<float> y, Span<int> argmaxIndices)
    {
        CheckBuffers(g, x.Length, y.Length, argmaxIndices.Length);
        int planes = g.N * g.C;
        var geo = g;
        unsafe
        {
            fixed (float* px = x, py = y)
            fixed (int* pi = argmaxIndices)
            {
                nint xs = (nint)px, ys = (nint)py, idxs = (nint)pi;
                Parallelism.For(planes, PlaneChunk(g), (start, end) =>
                    ForwardPlanes(geo, (float*)xs, (float*)ys, (int*)idxs, start, end));
            }
        }
    }

    /// <summary>
    /// y alone, for a forward no gradient will be taken of (inference): the values of <see cref="Forward"/>, bit for bit,
    /// without writing the argmax indices where the 16-plane blocks run (the other paths fill a per-plane scratch of them).
    /// </summary>
    public static void ForwardValues(in Pool2dGeometry g, ReadOnlySpan<float> x, Span<float> y)
    {
        CheckBuffers(g, x.Length, y.Length, argmaxLength: null);
        var geo = g;
        unsafe
        {
            fixed (float* px = x, py = y)
            {
                nint xs = (nint)px, ys = (nint)py;
                Parallelism.For(g.N * g.C, PlaneChunk(g), (start, end) => ForwardPlanes(geo, (float*)xs, (float*)ys, null, start, end));
            }
        }
    }

    // Planes per parallel chunk: whole 16-plane blocks where those run, so that every thread count pools them the same way.
    private static int PlaneChunk(in Pool2dGeometry g)
    {
        int chunk = Math.Max(1, 4096 / Math.Max(1, g.OH * g.OW));
        return PoolsPlaneBlocks(g) && !IsWhole2x2(g) ? (chunk + 15) / 16 * 16 : chunk;
    }

    /// <summary>
    /// <see cref="Forward"/> on this thread, for a fused kernel's loop that pools each image's block as it is made
    /// (a parallel loop per image would allocate its delegate every time: ~22 KB per training step of lenet5). With
    /// <paramref name="argmaxIndices"/> empty, the values alone (<see cref="ForwardValues"/>).
    /// </summary>
    internal static unsafe void ForwardOnThisThread(in Pool2dGeometry g, ReadOnlySpan<float> x, Span<float> y, Span<int> argmaxIndices)
    {
        // No indices: the values alone, as ForwardValues.
        bool values = argmaxIndices.IsEmpty;
        CheckBuffers(g, x.Length, y.Length, values ? null : argmaxIndices.Length);
        fixed (float* px = x, py = y)
        fixed (int* pi = argmaxIndices)
            ForwardPlanes(g, px, py, values ? null : pi, 0, g.N * g.C);
    }

    // x, y and the argmax indices (null: none asked for) big enough for g.
    private static void CheckBuffers(in Pool2dGeometry g, int xLength, int yLength, int? argmaxLength)
    {
        int planes = g.N * g.C, hw = g.H * g.W, ohw = g.OH * g.OW;
        if (xLength < planes * hw || yLength < planes * ohw || argmaxLength < planes * ohw)
            throw new ArgumentException($"max-pool buffers too small for {g}");
    }

    // Planes start … end − 1 of x [N·C planes] (every plane up to the last readable).
    // The output size is read once here, not per plane: each OH or OW is a division in double (PyTorch's
    // rule), and four of them per plane were most of a small plane's time.
    private static unsafe void ForwardPlanes(in Pool2dGeometry g, float* x, float* y, int* idx, int start, int end)
    {
        if (PoolsRows3x3(g))
        {
            ForwardPlanesRows3x3(g, x, y, idx, start, end);
            return;
        }
        int planes = g.N * g.C, hw = g.H * g.W, oh = g.OH, ow = g.OW, ohw = oh * ow;
        bool whole2x2 = IsWhole2x2(g);
        if (!whole2x2 && PoolsPlaneBlocks(g) && end - start >= 16)
        {
            float[] scratch = ArrayPool<float>.Shared.Rent((int)PlaneBlockScratch(g));
            fixed (float* s = scratch)
                for (; start + 16 <= end; start += 16)
                {
                    // The next block's 16 planes: its transpose reads them at once, 16 streams the prefetchers do not follow.
                    if (start + 32 <= end) CacheLines.Prefetch(x + (long)(start + 16) * hw, 16L * hw);
                    ForwardPlaneBlock(g, x + (long)start * hw, y + (long)start * ohw, idx == null ? null : idx + (long)start * ohw, s);
                }
            ArrayPool<float>.Shared.Return(scratch);
        }
        // Values alone (idx null): whole 2x2 windows compute none; the other planes after the last whole block write their
        // indices to a scratch, one plane at a time.
        int[]? spare = idx == null && !whole2x2 && start < end ? ArrayPool<int>.Shared.Rent(ohw) : null;
        fixed (int* pSpare = spare)
            for (int plane = start; plane < end; plane++)
            {
                int* at = idx == null ? pSpare : idx + (long)plane * ohw;
                // readable: how many floats from the plane's start may be read (the rest of x), so that the vector
                // loop may read past the plane's last row into the next plane (those lanes are discarded).
                long readable = (long)(planes - plane) * hw;
                if (whole2x2) ForwardPlane2x2(oh, ow, g.W, x + (long)plane * hw, y + (long)plane * ohw, at, readable);
                else if (Avx512F.IsSupported) ForwardPlaneGathered(g, x + (long)plane * hw, y + (long)plane * ohw, at);
                else ForwardPlaneGeneral(g, new ReadOnlySpan<float>(x + (long)plane * hw, hw), new Span<float>(y + (long)plane * ohw, ohw),
                    new Span<int>(at, ohw), 0, oh);
            }
        if (spare is not null) ArrayPool<int>.Shared.Return(spare);
    }

    private static void ForwardPlaneGeneral(in Pool2dGeometry g, ReadOnlySpan<float> x, Span<float> y, Span<int> idx,
        int rowStart, int rowEnd, int colStart = 0, int colEnd = -1)
    {
        int oh = rowEnd, ow = g.OW;
        if (colEnd < 0) colEnd = ow;
        for (int i = rowStart; i < oh; i++)
        {
            int h0 = i * g.SH - g.PH, h1 = Math.Min(h0 + (g.KH - 1) * g.DH + 1, g.H);
            while (h0 < 0) h0 += g.DH;
            for (int j = colStart; j < colEnd; j++)
            {
                int w0 = j * g.SW - g.PW, w1 = Math.Min(w0 + (g.KW - 1) * g.DW + 1, g.W);
                while (w0 < 0) w0 += g.DW;
                float best = float.NegativeInfinity;
                int bestAt = h0 * g.W + w0;
                for (int h = h0; h < h1; h += g.DH)
                    for (int w = w0; w < w1; w += g.DW)
                    {
                        float v = x[h * g.W + w];
                        if (v > best || float.IsNaN(v))
                        {
                            best = v;
                            bestAt = h * g.W + w;
                            if (float.IsNaN(v)) goto done;
                        }
                    }
                done:
                y[i * ow + j] = best;
                idx[i * ow + j] = bestAt;
            }
        }
    }

    /// <summary>
    /// Forward: y = x[argmax]. So dx[argmax] += dy (windows that overlap add into a shared max). With
    /// <paramref name="overwrite"/>, each plane of dx is cleared first by the thread that then scatters
    /// into it (while it is in cache), instead of a separate pass that zeroes all of dx.
    /// </summary>
    public static void Backward(in Pool2dGeometry g, ReadOnlySpan<float> dy, ReadOnlySpan<int> argmaxIndices, Span<float> dx, bool overwrite = false)
    {
        int planes = g.N * g.C, hw = g.H * g.W, ohw = g.OH * g.OW;
        CheckBackwardBuffers(g, dy.Length, argmaxIndices.Length, dx.Length);
        unsafe
        {
            fixed (float* pdy = dy, pdx = dx)
            fixed (int* pi = argmaxIndices)
            {
                nint dys = (nint)pdy, dxs = (nint)pdx, idxs = (nint)pi;
                // Each plane's indices point into that plane only, so planes are independent.
                Parallelism.For(planes, Math.Max(1, 4096 / Math.Max(1, ohw)), (start, end) =>
                    BackwardPlanes(hw, ohw, (float*)dys, (int*)idxs, (float*)dxs, start, end, overwrite));
            }
        }
    }

    /// <summary>
    /// <see cref="Backward"/> with <c>overwrite</c> on this thread, by the same loop (the same bits): for a fused op's backward,
    /// image by image.
    /// </summary>
    internal static unsafe void BackwardOnThisThread(in Pool2dGeometry g, ReadOnlySpan<float> dy, ReadOnlySpan<int> argmaxIndices, Span<float> dx)
    {
        int planes = g.N * g.C, hw = g.H * g.W, ohw = g.OH * g.OW;
        CheckBackwardBuffers(g, dy.Length, argmaxIndices.Length, dx.Length);
        fixed (float* pdy = dy, pdx = dx)
        fixed (int* pi = argmaxIndices)
            BackwardPlanes(hw, ohw, pdy, pi, pdx, 0, planes, overwrite: true);
    }

    // dy and the argmax indices of g's outputs, dx of its inputs, at least.
    private static void CheckBackwardBuffers(in Pool2dGeometry g, int dyLength, int argmaxLength, int dxLength)
    {
        int planes = g.N * g.C;
        if (dxLength < planes * g.H * g.W || dyLength < planes * g.OH * g.OW || argmaxLength < planes * g.OH * g.OW)
            throw new ArgumentException($"max-pool buffers too small for {g}");
    }

    // dx[argmax] += dy for planes [start, end), each plane of dx cleared first with overwrite.
    private static unsafe void BackwardPlanes(int hw, int ohw, float* dy, int* argmax, float* dx, int start, int end, bool overwrite)
    {
        for (int plane = start; plane < end; plane++)
        {
            float* d = dy + (long)plane * ohw, dst = dx + (long)plane * hw;
            int* idx = argmax + (long)plane * ohw;
            if (overwrite) new Span<float>(dst, hw).Clear();
            for (int k = 0; k < ohw; k++)
            {
                if ((uint)idx[k] >= (uint)hw) throw new ArgumentException($"argmax index {idx[k]} is outside its plane of {hw} elements");
                dst[idx[k]] += d[k];
            }
        }
    }

    /// <summary>The scalar, single-threaded twin of <see cref="Forward"/> (the general window loop for every geometry).</summary>
    public static void ForwardReference(in Pool2dGeometry g, ReadOnlySpan<float> x, Span<float> y, Span<int> argmaxIndices)
    {
        int hw = g.H * g.W, ohw = g.OH * g.OW;
        for (int plane = 0; plane < g.N * g.C; plane++)
            ForwardPlaneGeneral(g, x.Slice(plane * hw, hw), y.Slice(plane * ohw, ohw), argmaxIndices.Slice(plane * ohw, ohw), 0, g.OH);
    }

    /// <summary>The scalar, single-threaded twin of <see cref="Backward"/>.</summary>
    public static void BackwardReference(in Pool2dGeometry g, ReadOnlySpan<float> dy, ReadOnlySpan<int> argmaxIndices, Span<float> dx)
    {
        int hw = g.H * g.W, ohw = g.OH * g.OW;
        for (int plane = 0; plane < g.N * g.C; plane++)
        {
            var d = dy.Slice(plane * ohw, ohw);
            var idx = argmaxIndices.Slice(plane * ohw, ohw);
            var dst = dx.Slice(plane * hw, hw);
            for (int k = 0; k < ohw; k++) dst[idx[k]] += d[k];
        }
    }
}
