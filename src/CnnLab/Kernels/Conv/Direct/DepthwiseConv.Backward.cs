using System.Buffers;

namespace CnnLab.Kernels;

internal static unsafe partial class DepthwiseConv
{
    /// <summary>
    /// Accumulates the gradients of <see cref="ForwardImage"/>, dL/dY of each image and channel taken from
    /// <paramref name="source"/> (plain, ReLU-masked, or scattered from a max pool). Forward, per output plane o of
    /// channel c = o / M: y[i, j] = b + Σ w[kh, kw] · xp[i·SH + kh·DH, j·SW + kw·DW] (xp the padded plane). So
    /// dw[kh, kw] += Σ_{i, j} dy[i, j] · xp[…] (<see cref="WeightGradient"/>), db += Σ dy, and
    /// dxp[i·SH + kh·DH, j·SW + kw·DW] += w[kh, kw] · dy[i, j], computed as a gather (<see cref="InputGradient"/>).
    /// Each span may be empty (not wanted); with <paramref name="overwriteDx"/>, dx = ∂L/∂x instead of dx +=, and then each
    /// image's dx, once complete and in cache, is finished as <see cref="ConvBackwardPass.FinishImage"/> says:
    /// <paramref name="dxAddend"/> added (empty: none), masked by [x &gt; 0] with <paramref name="maskDxByInput"/>, and the
    /// sums of <paramref name="inputSums"/> (with the mask) taken from it. Returns which of these it did.
    /// </summary>
    public static DxFinish Backward(in Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ConvOutputGradient source,
        Span<float> dx, Span<float> dw, Span<float> db, bool overwriteDx, bool maskDxByInput = false, ReadOnlySpan<float> dxAddend = default,
        BatchNormGradientSums? inputSums = null)
    {
        bool needDx = !dx.IsEmpty, needDw = !dw.IsEmpty, needDb = !db.IsEmpty;
        if ((!needDx && !needDw && !needDb) || g.N == 0) return default;
        bool mask = maskDxByInput && needDx && overwriteDx, add = !dxAddend.IsEmpty && needDx && overwriteDx;
        var sums = mask ? inputSums : null;
        sums?.CheckInputOf(g);
        int taps = g.KH * g.KW, p = g.ColCols, m = g.OCg;
        // Per image and output channel, summed over images in order below: the same bits for any thread count.
        float[] dwPartial = needDw ? ArrayPool<float>.Shared.Rent(g.N * g.OC * taps) : [];
        float[] dbPartial = needDb ? ArrayPool<float>.Shared.Rent(g.N * g.OC) : [];
        var plan = needDx ? new InputGradientPlan(g) : null;
        var geo = g;
        fixed (float* px = x, pw = w, pdx = dx, pdwp = dwPartial, pdbp = dbPartial, padd = dxAddend)
        fixed (int* pOffsets = plan?.Offsets, pWeights = plan?.Weights)
        {
            nint xs = (nint)px, ws = (nint)pw, dxs = (nint)pdx, dwps = (nint)pdwp, dbps = (nint)pdbp, adds = add ? (nint)padd : 0;
            nint offs = (nint)pOffsets, widx = (nint)pWeights;
            Parallelism.For(g.N, 1, (start, end) =>
            {
                int planeLength = needDw ? ScratchLength(geo) : 0, dxLength = plan?.ScratchLength(geo) ?? 0;
                float[] scratch = ArrayPool<float>.Shared.Rent(planeLength + dxLength + m * p + 16);
                // Tiles and vectors past the last row read the slack past each plane: zeros, so that dropped lanes stay finite.
                // It also zeroes the border of x's padded plane, which FillPlane does not write.
                Array.Clear(scratch);
                fixed (float* s = scratch)
                {
                    float* plane = s, dxScratch = s + planeLength;
                    var blockScratch = scratch.AsSpan(planeLength + dxLength);
                    int* offsets = stackalloc int[taps];
                    long rowStep = TapOffsets(geo, offsets, PlaneRow(geo));
                    float* x0 = (float*)xs;
                    for (int n = start; n < end; n++)
                    {
                        for (int c = 0; c < geo.C; c++)
                        {
                            var block = source.ForImage(n, c, blockScratch);
                            fixed (float* dy = block)
                            {
                                if (needDw) FillPlane(geo, x0 + ((long)n * geo.C + c) * geo.H * geo.W, plane);
                                for (int k = 0; k < m; k++)
                                {
                                    long o = (long)n * geo.OC + c * m + k;
                                    if (needDb) ((float*)dbps)[o] = TensorPrimitives.Sum(block.Slice(k * p, p));
                                    if (needDw)
                                        WeightGradient(geo, plane, rowStep, offsets, taps, dy + (long)k * p, dy + block.Length,
                                            (float*)dwps + o * taps);
                                }
                                if (needDx)
                                    InputGradient(geo, plan!, (int*)offs, (int*)widx, dy, (float*)ws + (long)c * m * taps,
                                        (float*)dxs + ((long)n * geo.C + c) * geo.H * geo.W, overwriteDx, dxScratch);
                            }
                        }
                        if (add || mask) ConvBackwardPass.FinishImage(geo, n, x0, (float*)dxs, (float*)adds, mask, sums);
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
        return new(mask, add, sums is not null);
    }
}
