namespace CnnLab.Kernels;

// Legend: N batch, C input channels, H, W input height/width, OC output channels, KH, KW kernel,
// G groups, Cg = C/G, OCg = OC/G, OH, OW output height/width.
// x [N, C, H, W], w [OC, Cg, KH, KW], b [OC], y [N, OC, OH, OW].

/// <summary>
/// The direct seven-loop convolution, in double precision: the readable specification that
/// <see cref="Conv2dKernel"/> (im2col + GEMM) is tested against. Slow on purpose; never used for training.
/// y[n, o, i, j] = b[o] + Σ_{c, u, v} w[o, c, u, v] · x[n, g·Cg + c, i·SH − PH + u·DH, j·SW − PW + v·DW],
/// g = o / OCg, zero outside the image.
/// </summary>
/// <remarks>PyTorch: <c>torch.nn.functional.conv2d</c>.</remarks>
public static class Conv2dReference
{
    /// <summary>Overwrites <paramref name="y"/> with conv(x, w) (+ b when <paramref name="hasBias"/>).</summary>
    public static void Forward(in Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, bool hasBias, Span<float> y)
    {
        int oh = g.OH, ow = g.OW;
        for (int n = 0; n < g.N; n++)
            for (int o = 0; o < g.OC; o++)
            {
                int grp = o / g.OCg;
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++)
                    {
                        double s = hasBias ? b[o] : 0;
                        for (int c = 0; c < g.Cg; c++)
                            for (int u = 0; u < g.KH; u++)
                                for (int v = 0; v < g.KW; v++)
                                {
                                    int yy = i * g.SH - g.PH + u * g.DH, xx = j * g.SW - g.PW + v * g.DW;
                                    if (yy < 0 || yy >= g.H || xx < 0 || xx >= g.W) continue;
                                    s += (double)w[((o * g.Cg + c) * g.KH + u) * g.KW + v] * x[((n * g.C + grp * g.Cg + c) * g.H + yy) * g.W + xx];
                                }
                        y[((n * g.OC + o) * oh + i) * ow + j] = (float)s;
                    }
            }
    }

    /// <summary>
    /// Accumulates dx, dw, db (each skipped when empty) by walking the forward loops and scattering:
    /// for each term y += w·x: dx += dy·w, dw += dy·x; for y += b: db += dy.
    /// </summary>
    public static void Backward(in Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> dy,
        Span<float> dx, Span<float> dw, Span<float> db)
    {
        int oh = g.OH, ow = g.OW;
        var dxAcc = new double[dx.Length];
        var dwAcc = new double[dw.Length];
        var dbAcc = new double[db.Length];
        for (int n = 0; n < g.N; n++)
            for (int o = 0; o < g.OC; o++)
            {
                int grp = o / g.OCg;
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++)
                    {
                        double d = dy[((n * g.OC + o) * oh + i) * ow + j];
                        if (dbAcc.Length > 0) dbAcc[o] += d;
                        for (int c = 0; c < g.Cg; c++)
                            for (int u = 0; u < g.KH; u++)
                                for (int v = 0; v < g.KW; v++)
                                {
                                    int yy = i * g.SH - g.PH + u * g.DH, xx = j * g.SW - g.PW + v * g.DW;
                                    if (yy < 0 || yy >= g.H || xx < 0 || xx >= g.W) continue;
                                    int wi = ((o * g.Cg + c) * g.KH + u) * g.KW + v;
                                    int xi = ((n * g.C + grp * g.Cg + c) * g.H + yy) * g.W + xx;
                                    if (dxAcc.Length > 0) dxAcc[xi] += d * w[wi];
                                    if (dwAcc.Length > 0) dwAcc[wi] += d * x[xi];
                                }
                    }
            }
        for (int i = 0; i < dx.Length; i++) dx[i] += (float)dxAcc[i];
        for (int i = 0; i < dw.Length; i++) dw[i] += (float)dwAcc[i];
        for (int i = 0; i < db.Length; i++) db[i] += (float)dbAcc[i];
    }
}
