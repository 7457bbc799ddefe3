using System.Buffers;

namespace CnnLab.Kernels;

// Legend: N batch, C input channels, H, W input height/width, OC output channels, KH, KW kernel,
// G groups, Cg = C/G, OCg = OC/G, OH, OW output height/width, P = OH·OW output pixels,
// R = Cg·KH·KW rows of one group's column matrix. x [N, C, H, W], w [OC, Cg, KH, KW], b [OC], y [N, OC, OH, OW].

/// <summary>
/// 2-D convolution (cross-correlation, as in deep learning) by im2col + GEMM, forward and backward:
/// y[n, o, i, j] = b[o] + Σ_{c ∈ group(o), u, v} w[o, c, u, v] · x[n, c, i·SH − PH + u·DH, j·SW − PW + v·DW].
/// Per image and group: Y_g [OCg, P] = W_g [OCg, R] · col_g [R, P]. Images run in parallel; every
/// output element is written by one thread, and the weight gradient is reduced from fixed chunks of
/// the batch in chunk order, so results depend only on <see cref="Parallelism.MaxThreads"/>, never on
/// scheduling. <see cref="Conv2dReference"/> is the plain twin this is tested against.
/// </summary>
/// <remarks>PyTorch: <c>torch.nn.functional.conv2d</c> (its CPU "slow_conv2d" path is also im2col + GEMM).</remarks>
public static class Conv2dKernel
{
    /// <summary>y = conv(x, w) + b. Overwrites <paramref name="y"/> [N, OC, OH, OW].</summary>
    public static void Forward(in Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, bool hasBias, Span<float> y)
    {
        CheckLengths(g, x.Length, w.Length, y.Length);
        var geo = g;
        int r = g.ColRows, p = g.ColCols, pp = PaddedCols(p);
        // A pointwise conv with an aligned width multiplies the input directly; otherwise im2col
        // copies it into rows pp ≥ p apart, and the GEMM writes a [OCg, pp] scratch.
        bool direct = g.IsPointwise && pp == p;
        unsafe
        {
            fixed (float* px = x, pw = w, pb = b, py = y)
            {
                nint xs = (nint)px, ws = (nint)pw, bs = (nint)pb, ys = (nint)py;
                Parallelism.For(g.N, 1, (start, end) =>
                {
                    float[]? col = direct ? null : ArrayPool<float>.Shared.Rent(r * pp);
                    float[]? scratch = pp == p ? null : ArrayPool<float>.Shared.Rent(geo.OCg * pp);
                    var xAll = new ReadOnlySpan<float>((float*)xs, geo.N * geo.C * geo.H * geo.W);
                    var wAll = new ReadOnlySpan<float>((float*)ws, geo.OC * r);
                    var yAll = new Span<float>((float*)ys, geo.N * geo.OC * p);
                    for (int n = start; n < end; n++)
                        for (int grp = 0; grp < geo.G; grp++)
                        {
                            var xg = xAll.Slice((n * geo.C + grp * geo.Cg) * geo.H * geo.W, geo.Cg * geo.H * geo.W);
                            var yg = yAll.Slice((n * geo.OC + grp * geo.OCg) * p, geo.OCg * p);
                            ReadOnlySpan<float> cols = xg;
                            if (col is not null)
                            {
                                ConvColumns.Im2Col(xg, geo.Cg, geo.H, geo.W, geo.KH, geo.KW, geo.SH, geo.SW, geo.PH, geo.PW, geo.DH, geo.DW, geo.OH, geo.OW, col, pp);
                                cols = col.AsSpan(0, r * pp);
                            }
                            var target = scratch is null ? yg : scratch.AsSpan(0, geo.OCg * pp);
                            // Y_g [OCg, P] = W_g [OCg, R] · col_g [R, P] + b_g, the bias added in the GEMM's epilogue
                            // while each tile is in registers (no separate pass over Y).
                            var epilogue = hasBias ? GemmEpilogue.WithRowBias(new ReadOnlySpan<float>((float*)bs + grp * geo.OCg, geo.OCg)) : GemmEpilogue.None;
                            Gemm.Sgemm(false, false, geo.OCg, pp, r, 1f, wAll.Slice(grp * geo.OCg * r, geo.OCg * r), r, cols, pp, 0f, target, pp, epilogue);
                            if (scratch is not null)
                                for (int o = 0; o < geo.OCg; o++) target.Slice(o * pp, p).CopyTo(yg.Slice(o * p, p));
                        }
                    if (col is not null) ArrayPool<float>.Shared.Return(col);
                    if (scratch is not null) ArrayPool<float>.Shared.Return(scratch);
                });
            }
        }
    }

    // The GEMM's vector tiles are 32 and 16 columns wide and the rest runs scalar (about 16x slower),
    // so the column count is rounded up to 16: e.g. 14x14 = 196 → 208 costs 6% more lanes instead of
    // 4 scalar columns (~40% more time).
    private static int PaddedCols(int p) => p % 16 == 0 || !System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? p : (p + 15) / 16 * 16;

    /// <summary>
    /// Accumulates the gradients of <see cref="Forward"/>: dx += ∂L/∂x, dw += ∂L/∂w, db += ∂L/∂b, each
    /// skipped when its span is empty. Forward, per image and group: Y_g = W_g · col(x_g) + b. So
    /// dcol = W_gᵀ · dY_g and dx_g += col2im(dcol); dW_g += dY_g · col(x_g)ᵀ; db[o] += Σ_{n, pixels} dy[n, o].
    /// </summary>
    public static void Backward(in Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> dy,
        Span<float> dx, Span<float> dw, Span<float> db)
    {
        CheckLengths(g, x.Length, w.Length, dy.Length);
        int r = g.ColRows, p = g.ColCols, pp = PaddedCols(p);
        bool needDx = !dx.IsEmpty, needDw = !dw.IsEmpty;
        if (needDx && dx.Length < g.N * g.C * g.H * g.W) throw new ArgumentException($"dx has {dx.Length} elements, needs {g.N * g.C * g.H * g.W}");
        if (needDw && dw.Length < g.OC * r) throw new ArgumentException($"dw has {dw.Length} elements, needs {g.OC * r}");
        if (!db.IsEmpty) BackwardBias(g, dy, db);
        if ((!needDx && !needDw) || g.N == 0) return;

        // W_gᵀ [R, OCg] per group, so that dcol = W_gᵀ · dY_g needs no transpose inside the loop.
        float[] wT = needDx ? TransposeGroups(g, w) : [];
        // Fixed chunks of the batch (not per-thread): each accumulates its own dWᵀ partial in image
        // order, and the partials are summed in chunk order below, so dW is bitwise reproducible.
        int chunks = needDw ? Math.Min(g.N, Parallelism.MaxThreads) : g.N;
        float[][] partials = needDw ? new float[chunks][] : [];
        var geo = g;
        unsafe
        {
            fixed (float* px = x, pdy = dy, pdx = dx)
            {
                nint xs = (nint)px, dys = (nint)pdy, dxs = (nint)pdx;
                Parallelism.For(chunks, 1, (cs, ce) =>
                {
                    var xAll = new ReadOnlySpan<float>((float*)xs, geo.N * geo.C * geo.H * geo.W);
                    var dyAll = new ReadOnlySpan<float>((float*)dys, geo.N * geo.OC * p);
                    var dxAll = needDx ? new Span<float>((float*)dxs, geo.N * geo.C * geo.H * geo.W) : default;
                    float[] col = ArrayPool<float>.Shared.Rent(r * pp);
                    float[] dyT = ArrayPool<float>.Shared.Rent(geo.OCg * p);
                    float[]? dyPad = pp == p ? null : ArrayPool<float>.Shared.Rent(geo.OCg * pp);
                    for (int chunk = cs; chunk < ce; chunk++)
                    {
                        float[]? partial = needDw ? partials[chunk] = new float[geo.OC * r] : null;
                        int n0 = (int)((long)chunk * geo.N / chunks), n1 = (int)((long)(chunk + 1) * geo.N / chunks);
                        for (int n = n0; n < n1; n++)
                            for (int grp = 0; grp < geo.G; grp++)
                            {
                                int xOff = (n * geo.C + grp * geo.Cg) * geo.H * geo.W, xLen = geo.Cg * geo.H * geo.W;
                                var dyg = dyAll.Slice((n * geo.OC + grp * geo.OCg) * p, geo.OCg * p);
                                if (partial is not null)
                                {
                                    ReadOnlySpan<float> cols = xAll.Slice(xOff, xLen);
                                    if (!geo.IsPointwise)
                                    {
                                        ConvColumns.Im2Col(cols, geo.Cg, geo.H, geo.W, geo.KH, geo.KW, geo.SH, geo.SW, geo.PH, geo.PW, geo.DH, geo.DW, geo.OH, geo.OW, col);
                                        cols = col.AsSpan(0, r * p);
                                    }
                                    Transpose(dyg, geo.OCg, p, dyT);
                                    // dW_gᵀ [R, OCg] += col_g [R, P] · dY_gᵀ [P, OCg]
                                    Gemm.Sgemm(false, false, r, geo.OCg, p, 1f, cols, p, dyT.AsSpan(0, p * geo.OCg), geo.OCg, 1f,
                                        partial.AsSpan(grp * r * geo.OCg, r * geo.OCg), geo.OCg);
                                }
                                if (needDx)
                                {
                                    var wTg = wT.AsSpan(grp * r * geo.OCg, r * geo.OCg);
                                    var dxg = dxAll.Slice(xOff, xLen);
                                    if (geo.IsPointwise && pp == p)
                                    {
                                        // dx_g [Cg, P] += W_gᵀ [Cg, OCg] · dY_g [OCg, P]
                                        Gemm.Sgemm(false, false, r, p, geo.OCg, 1f, wTg, geo.OCg, dyg, p, 1f, dxg, p);
                                    }
                                    else
                                    {
                                        // dcol [R, P] = W_gᵀ [R, OCg] · dY_g [OCg, P]; dx_g += col2im(dcol). Rows pp apart (see PaddedCols).
                                        ReadOnlySpan<float> dyRows = dyg;
                                        if (dyPad is not null)
                                        {
                                            for (int o = 0; o < geo.OCg; o++)
                                            {
                                                dyg.Slice(o * p, p).CopyTo(dyPad.AsSpan(o * pp, p));
                                                dyPad.AsSpan(o * pp + p, pp - p).Clear();
                                            }
                                            dyRows = dyPad.AsSpan(0, geo.OCg * pp);
                                        }
                                        Gemm.Sgemm(false, false, r, pp, geo.OCg, 1f, wTg, geo.OCg, dyRows, pp, 0f, col.AsSpan(0, r * pp), pp);
                                        ConvColumns.Col2Im(col.AsSpan(0, r * pp), geo.Cg, geo.H, geo.W, geo.KH, geo.KW, geo.SH, geo.SW, geo.PH, geo.PW, geo.DH, geo.DW, geo.OH, geo.OW, dxg, pp);
                                    }
                                }
                            }
                    }
                    ArrayPool<float>.Shared.Return(col);
                    ArrayPool<float>.Shared.Return(dyT);
                    if (dyPad is not null) ArrayPool<float>.Shared.Return(dyPad);
                });
            }
        }
        if (!needDw) return;
        for (int chunk = 1; chunk < chunks; chunk++) TensorPrimitives.Add(partials[0], partials[chunk], partials[0]);
        // partials hold dW_gᵀ [R, OCg] per group; dw holds [OC, R] = per group [OCg, R].
        for (int grp = 0; grp < g.G; grp++)
            for (int i = 0; i < r; i++)
                for (int o = 0; o < g.OCg; o++)
                    dw[(grp * g.OCg + o) * r + i] += partials[0][(grp * r + i) * g.OCg + o];
    }

    /// <summary>db[o] += Σ_n Σ_pixels dy[n, o, ·, ·] (y = … + b broadcast over n and pixels).</summary>
    public static void BackwardBias(in Conv2dGeometry g, ReadOnlySpan<float> dy, Span<float> db)
    {
        int p = g.ColCols;
        for (int o = 0; o < g.OC; o++)
        {
            double s = 0;
            for (int n = 0; n < g.N; n++) s += TensorPrimitives.Sum(dy.Slice((n * g.OC + o) * p, p));
            db[o] += (float)s;
        }
    }

    private static void CheckLengths(in Conv2dGeometry g, int xLen, int wLen, int yLen)
    {
        if (g.N < 0 || g.C <= 0 || g.OC <= 0 || g.G <= 0 || g.C % g.G != 0 || g.OC % g.G != 0 || g.OH <= 0 || g.OW <= 0)
            throw new ArgumentException($"invalid convolution geometry {g}");
        if (xLen < g.N * g.C * g.H * g.W) throw new ArgumentException($"x has {xLen} elements, needs {g.N * g.C * g.H * g.W}");
        if (wLen < g.OC * g.ColRows) throw new ArgumentException($"w has {wLen} elements, needs {g.OC * g.ColRows}");
        if (yLen < g.N * g.OC * g.ColCols) throw new ArgumentException($"y has {yLen} elements, needs {g.N * g.OC * g.ColCols}");
    }

    private static float[] TransposeGroups(in Conv2dGeometry g, ReadOnlySpan<float> w)
    {
        int r = g.ColRows;
        var wT = new float[g.OC * r];
        for (int grp = 0; grp < g.G; grp++)
            Transpose(w.Slice(grp * g.OCg * r, g.OCg * r), g.OCg, r, wT.AsSpan(grp * g.OCg * r));
        return wT;
    }

    // dst [cols, rows] = src [rows, cols]ᵀ, both contiguous.
    private static void Transpose(ReadOnlySpan<float> src, int rows, int cols, Span<float> dst)
    {
        const int T = 32;
        for (int i0 = 0; i0 < rows; i0 += T)
            for (int j0 = 0; j0 < cols; j0 += T)
            {
                int i1 = Math.Min(rows, i0 + T), j1 = Math.Min(cols, j0 + T);
                for (int i = i0; i < i1; i++)
                    for (int j = j0; j < j1; j++)
                        dst[j * rows + i] = src[i * cols + j];
            }
    }
}
