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
        // Every window whole (ceil mode may clip the last row or column).
        if (g is { KH: 2, KW: 2, SH: 2, SW: 2, PH: 0, PW: 0, DH: 1, DW: 1 } && 2 * g.OH <= g.H && 2 * g.OW <= g.W) ForwardPlane2x2(g, x, y, idx);
        else ForwardPlaneGeneral(g, x, y, idx, 0, g.OH);
    }

    // The common 2x2 window, stride 2: four loads and three compares per output, scan order (top-left,
    // top-right, bottom-left, bottom-right) and ties to the first, exactly as the general loop. A NaN or
    // an infinity makes the sum non-finite; such rare outputs take the general loop's NaN rule.
    private static void ForwardPlane2x2(in Pool2dGeometry g, ReadOnlySpan<float> x, Span<float> y, Span<int> idx)
    {
        int ow = g.OW, w = g.W;
        for (int i = 0; i < g.OH; i++)
        {
            var top = x.Slice(2 * i * w, 2 * ow);
            var bottom = x.Slice((2 * i + 1) * w, 2 * ow);
            var yRow = y.Slice(i * ow, ow);
            var idxRow = idx.Slice(i * ow, ow);
            int rowStart = 2 * i * w;
            for (int j = 0; j < ow; j++)
            {
                float a = top[2 * j], b = top[2 * j + 1], c = bottom[2 * j], d = bottom[2 * j + 1];
                if (!float.IsFinite(a + b + c + d))
                {
                    ForwardPlaneGeneral(g, x, y, idx, i, i + 1, j, j + 1);
                    continue;
                }
                // Written as selects (no branches to mispredict on random data).
                bool gb = b > a;
                float best = gb ? b : a;
                int at = gb ? 1 : 0;
                bool gc = c > best;
                best = gc ? c : best;
                at = gc ? w : at;
                bool gd = d > best;
                best = gd ? d : best;
                at = gd ? w + 1 : at;
                yRow[j] = best;
                idxRow[j] = rowStart + 2 * j + at;
            }
        }
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
    /// Forward: y = x[argmax]. So dx[argmax] += dy (windows that overlap add into a shared max).
    /// </summary>
    public static void Backward(in Pool2dGeometry g, ReadOnlySpan<float> dy, ReadOnlySpan<int> argmaxIndices, Span<float> dx)
    {
        int planes = g.N * g.C, hw = g.H * g.W, ohw = g.OH * g.OW;
        if (dx.Length < planes * hw || dy.Length < planes * ohw || argmaxIndices.Length < planes * ohw)
            throw new ArgumentException($"max-pool buffers too small for {g}");
        unsafe
        {
            fixed (float* pdy = dy, pdx = dx)
            fixed (int* pi = argmaxIndices)
            {
                nint dys = (nint)pdy, dxs = (nint)pdx, idxs = (nint)pi;
                // Each plane's indices point into that plane only, so planes are independent.
                Parallelism.For(planes, Math.Max(1, 4096 / Math.Max(1, ohw)), (start, end) =>
                {
                    for (int plane = start; plane < end; plane++)
                    {
                        float* d = (float*)dys + (long)plane * ohw, dst = (float*)dxs + (long)plane * hw;
                        int* idx = (int*)idxs + (long)plane * ohw;
                        for (int k = 0; k < ohw; k++)
                        {
                            if ((uint)idx[k] >= (uint)hw) throw new ArgumentException($"argmax index {idx[k]} is outside its plane of {hw} elements");
                            dst[idx[k]] += d[k];
                        }
                    }
                });
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
