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
public static class MaxPool2dKernel
{
    /// <summary>Overwrites y and argmaxIndices.</summary>
    public static void Forward(in Pool2dGeometry g, ReadOnlySpan<float> x, Span<float> y, Span<int> argmaxIndices)
    {
        int planes = g.N * g.C, hw = g.H * g.W, ohw = g.OH * g.OW;
        if (x.Length < planes * hw || y.Length < planes * ohw || argmaxIndices.Length < planes * ohw)
            throw new ArgumentException($"max-pool buffers too small for {g}");
        var geo = g;
        unsafe
        {
            fixed (float* px = x, py = y)
            fixed (int* pi = argmaxIndices)
            {
                nint xs = (nint)px, ys = (nint)py, idxs = (nint)pi;
                Parallelism.For(planes, Math.Max(1, 4096 / Math.Max(1, ohw)), (start, end) =>
                {
                    for (int plane = start; plane < end; plane++)
                        ForwardPlane(geo, new ReadOnlySpan<float>((float*)xs + (long)plane * hw, hw),
                            new Span<float>((float*)ys + (long)plane * ohw, ohw), new Span<int>((int*)idxs + (long)plane * ohw, ohw));
                });
            }
        }
    }

    private static void ForwardPlane(in Pool2dGeometry g, ReadOnlySpan<float> x, Span<float> y, Span<int> idx)
    {
        int oh = g.OH, ow = g.OW;
        for (int i = 0; i < oh; i++)
        {
            int h0 = i * g.SH - g.PH, h1 = Math.Min(h0 + (g.KH - 1) * g.DH + 1, g.H);
            while (h0 < 0) h0 += g.DH;
            for (int j = 0; j < ow; j++)
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
    /// Forward: y = x[argmax]. So dx[argmax] += dy (windows that overlap add into a shared max).
    /// </summary>
    public static void Backward(in Pool2dGeometry g, ReadOnlySpan<float> dy, ReadOnlySpan<int> argmaxIndices, Span<float> dx)
    {
        int planes = g.N * g.C, hw = g.H * g.W, ohw = g.OH * g.OW;
        if (dx.Length < planes * hw || dy.Length < planes * ohw || argmaxIndices.Length < planes * ohw)
            throw new ArgumentException($"max-pool buffers too small for {g}");
        for (int plane = 0; plane < planes; plane++)
        {
            var d = dy.Slice(plane * ohw, ohw);
            var idx = argmaxIndices.Slice(plane * ohw, ohw);
            var dst = dx.Slice(plane * hw, hw);
            for (int k = 0; k < ohw; k++) dst[idx[k]] += d[k];
        }
    }
}
