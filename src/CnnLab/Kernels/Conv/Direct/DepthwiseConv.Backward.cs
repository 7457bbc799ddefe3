using System.Runtime.CompilerServices;
using System.Buffers;
using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

internal static unsafe partial class DepthwiseConv
{
    /// <summary>
    /// Accumulates the gradients of <see cref="ForwardImage"/>, dL/dY of each image and channel taken from
    /// <paramref name="source"/> (plain, ReLU-masked, or scattered from a max pool). Forward, per output plane o of
    /// channel c = o / M: y[i, j] = b + Σ w[kh, kw] · xp[i·SH + kh·DH, j·SW + kw·DW] (xp the padded plane). So
    /// dxp[i·SH + kh·DH, j·SW + kw·DW] += w[kh, kw] · dy[i, j] (scattered into the phases, then cropped into dx),
    /// dw[kh, kw] += Σ_{i, j} dy[i, j] · xp[…], db += Σ dy. Each span may be empty (not wanted); with
    /// <paramref name="overwriteDx"/>, dx = ∂L/∂x instead of dx +=.
    /// </summary>
    public static void Backward(in Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ConvOutputGradient source,
        Span<float> dx, Span<float> dw, Span<float> db, bool overwriteDx)
    {
        bool needDx = !dx.IsEmpty, needDw = !dw.IsEmpty, needDb = !db.IsEmpty;
        if ((!needDx && !needDw && !needDb) || g.N == 0) return;
        int taps = g.KH * g.KW, cols = WholeColumns(g), p = g.ColCols, m = g.OCg;
        // Per image and output channel, summed over images in order below: the same bits for any thread count.
        float[] dwPartial = needDw ? ArrayPool<float>.Shared.Rent(g.N * g.OC * taps) : [];
        float[] dbPartial = needDb ? ArrayPool<float>.Shared.Rent(g.N * g.OC) : [];
        var geo = g;
        long xLength = x.Length;
        fixed (float* px = x, pw = w, pdx = dx, pdwp = dwPartial, pdbp = dbPartial)
        {
            nint xs = (nint)px, ws = (nint)pw, dxs = (nint)pdx, dwps = (nint)pdwp, dbps = (nint)pdbp;
            Parallelism.For(g.N, 1, (start, end) =>
            {
                int planeLength = PhasedPlane(geo);
                int slack = (int)TileSlack(RowStep(geo));
                float[] scratch = ArrayPool<float>.Shared.Rent(2 * planeLength + slack + geo.OH * cols + m * p + 16);
                fixed (float* s = scratch)
                {
                    // Reads past the plane's last row (dropped lanes) see zeros.
                    new Span<float>(s + 2 * planeLength, slack).Clear();
                    float* plane = s, dxPlane = s + planeLength, dyRows = s + 2 * planeLength + slack;
                    var blockScratch = scratch.AsSpan(2 * planeLength + slack + geo.OH * cols);
                    for (int n = start; n < end; n++)
                        for (int c = 0; c < geo.C; c++)
                        {
                            var block = source.ForImage(n, c, blockScratch);
                            if (needDw)
                                SplitPadded(geo, (float*)xs + ((long)n * geo.C + c) * geo.H * geo.W, plane, (float*)xs, (float*)xs + xLength);
                            if (needDx) new Span<float>(dxPlane, planeLength).Clear();
                            for (int k = 0; k < m; k++)
                            {
                                int o = c * m + k;
                                var dyPlane = block.Slice(k * p, p);
                                if (needDb) ((float*)dbps)[(long)n * geo.OC + o] = TensorPrimitives.Sum(dyPlane);
                                if (!needDw && !needDx) continue;
                                CopyRows(geo, dyPlane, dyRows, cols);
                                if (needDw) AddWeightGradient(geo, plane, dyRows, cols, (float*)dwps + ((long)n * geo.OC + o) * taps);
                                if (needDx) ScatterInputGradient(geo, (float*)ws + (long)o * taps, dyRows, cols, dxPlane);
                            }
                            if (needDx) Crop(geo, dxPlane, (float*)dxs + ((long)n * geo.C + c) * geo.H * geo.W, overwriteDx);
                        }
                }
                ArrayPool<float>.Shared.Return(scratch);
            });
        }
        if (needDw)
        {
            for (int i = 0; i < g.OC * taps; i++)
            {
                double sum = 0;
                for (int n = 0; n < g.N; n++) sum += dwPartial[(long)n * g.OC * taps + i];
                dw[i] += (float)sum;
            }
            ArrayPool<float>.Shared.Return(dwPartial);
        }
        if (needDb)
        {
            for (int o = 0; o < g.OC; o++)
            {
                double sum = 0;
                for (int n = 0; n < g.N; n++) sum += dbPartial[(long)n * g.OC + o];
                db[o] += (float)sum;
            }
            ArrayPool<float>.Shared.Return(dbPartial);
        }
    }

    // rows [OH, cols] = dy [OH, OW] with each row's columns past OW zeroed (they then add nothing).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CopyRows(in Conv2dGeometry g, ReadOnlySpan<float> dy, float* rows, int cols)
    {
        for (int i = 0; i < g.OH; i++)
        {
            var row = new Span<float>(rows + (long)i * cols, cols);
            dy.Slice(i * g.OW, g.OW).CopyTo(row);
            row[g.OW..].Clear();
        }
    }

    // dw[kh, kw] = Σ_{i, j} dy[i, j] · xp[i·SH + kh·DH, j·SW + kw·DW], each tap's sum in a fixed order.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddWeightGradient(in Conv2dGeometry g, float* plane, float* dyRows, int cols, float* dw)
    {
        int taps = g.KH * g.KW;
        int* offsets = stackalloc int[taps];
        long rowStep = TapOffsets(g, offsets);
        for (int t = 0; t < taps; t++)
            {
                float sum;
                if (Vector512.IsHardwareAccelerated)
                {
                    var acc = Vector512<float>.Zero;
                    for (int i = 0; i < g.OH; i++)
                    {
                        float* tap = plane + i * rowStep + offsets[t], dyRow = dyRows + (long)i * cols;
                        for (int j = 0; j < cols; j += 16) acc = Vector512.FusedMultiplyAdd(Vector512.Load(dyRow + j), Vector512.Load(tap + j), acc);
                    }
                    sum = Vector512.Sum(acc);
                }
                else
                {
                    sum = 0f;
                    for (int i = 0; i < g.OH; i++)
                    {
                        float* tap = plane + i * rowStep + offsets[t], dyRow = dyRows + (long)i * cols;
                        for (int j = 0; j < cols; j++) sum = MathF.FusedMultiplyAdd(dyRow[j], tap[j], sum);
                    }
                }
                dw[t] = sum;
            }
    }

    // dxp[i·SH + kh·DH, j·SW + kw·DW] += w[kh, kw] · dy[i, j], into the phase rows.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScatterInputGradient(in Conv2dGeometry g, float* w, float* dyRows, int cols, float* dxPlane)
    {
        int taps = g.KH * g.KW;
        int* offsets = stackalloc int[taps];
        long rowStep = TapOffsets(g, offsets);
        for (int i = 0; i < g.OH; i++)
            for (int t = 0; t < taps; t++)
                AddScaled(dxPlane + i * rowStep + offsets[t], dyRows + (long)i * cols, w[t], cols);
    }

    // dx [H, W] (+)= the inside of the padded, phase-split dxPlane (phase r's m-th float is padded column m·SW + r).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Crop(in Conv2dGeometry g, float* dxPlane, float* dx, bool overwrite)
    {
        int len = PhaseRow(g);
        for (int h = 0; h < g.H; h++)
        {
            float* rows = dxPlane + (long)(h + g.PH) * g.SW * len, dst = dx + (long)h * g.W;
            if (g.SW == 1)
            {
                var inside = new ReadOnlySpan<float>(rows + g.PW, g.W);
                var target = new Span<float>(dst, g.W);
                if (overwrite) inside.CopyTo(target);
                else TensorPrimitives.Add(target, inside, target);
                continue;
            }
            for (int r = 0; r < g.SW; r++)
            {
                float* phase = rows + (long)r * len;
                // Padded columns m·SW + r that fall inside the image: w = m·SW + r − PW in [0, W).
                for (int m = 0, w = r - g.PW; w < g.W; m++, w += g.SW)
                    if (w >= 0) dst[w] = overwrite ? phase[m] : dst[w] + phase[m];
            }
        }
    }
}
