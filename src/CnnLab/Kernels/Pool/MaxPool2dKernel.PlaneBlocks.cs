using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

// Legend as in MaxPool2dKernel.cs; a block: 16 consecutive planes, transposed to [H·W, 16] (lane q = plane q).

public static partial class MaxPool2dKernel
{
    /// <summary>
    /// Planes pooled 16 at a time wherever AVX-512 runs and a block's scratch stays within 16 MB: contiguous loads of one
    /// tap for sixteen planes beat the gathered path's two gathers per tap on every shape measured (1.5-4x, narrow rows
    /// most, bench/RESULTS.md); the planes left over after the last whole block take the gathered path.
    /// </summary>
    private static bool PoolsPlaneBlocks(in Pool2dGeometry g) => Vector512.IsHardwareAccelerated && PlaneBlockScratch(g) <= 1L << 22;

    /// <summary>Floats of <see cref="ForwardPlaneBlock"/>'s scratch: the block transposed, and its outputs and indices.</summary>
    private static long PlaneBlockScratch(in Pool2dGeometry g) => 16L * ((long)g.H * g.W + 2L * g.OH * g.OW);

    /// <summary>
    /// Sixteen planes at once, one per lane: the block is transposed so that a tap of the same window in all sixteen is
    /// one load, each window's taps are walked once for all of them (a tap in the padding is skipped for all at once), and
    /// the outputs and indices are transposed back. Small planes pooled one at a time leave most of a vector empty and
    /// pay a row's setup per 7 outputs (a 3x3, stride-2, padding-1 pool of 14x14 planes). Each lane follows
    /// <see cref="ForwardPlaneGeneral"/>'s rule exactly (taps in row-major order, the first tap's index to start, a
    /// strictly greater value or a NaN to replace it, nothing after a NaN): the same values and indices. With
    /// <paramref name="idx"/> null, the values alone (<see cref="ForwardValues"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ForwardPlaneBlock(in Pool2dGeometry g, float* x, float* y, int* idx, float* scratch)
    {
        // OH and OW are each a division in double (PyTorch's rule): read once, not per output.
        int oh = g.OH, ow = g.OW, hw = g.H * g.W, ohw = oh * ow;
        // The geometry in locals: read through the reference, every field would be loaded again after each store.
        int height = g.H, width = g.W, kh = g.KH, kw = g.KW, sh = g.SH, sw = g.SW, ph = g.PH, pw = g.PW, dh = g.DH, dw = g.DW;
        int wholeIn = Transpose16.IsSupported ? hw / 16 * 16 : 0, wholeOut = Transpose16.IsSupported ? ohw / 16 * 16 : 0;
        for (int pixel = 0; pixel < wholeIn; pixel += 16) Transpose16.Block(x + pixel, hw, scratch + pixel * 16, 16);
        for (int q = 0; q < 16; q++)
        {
            float* plane = x + (long)q * hw;
            for (int pixel = wholeIn; pixel < hw; pixel++) scratch[pixel * 16 + q] = plane[pixel];
        }
        float* values = scratch + 16 * hw;
        int* indices = (int*)(values + 16 * ohw);
        for (int i = 0; i < oh; i++)
        {
            int firstRow = i * sh - ph;
            while (firstRow < 0) firstRow += dh;
            float* rowValues = values + (long)i * ow * 16;
            int* rowIndices = indices + (long)i * ow * 16;
            for (int j = 0; j < ow; j++)
            {
                int firstColumn = j * sw - pw;
                while (firstColumn < 0) firstColumn += dw;
                Vector512.Store(Vector512.Create(float.NegativeInfinity), rowValues + j * 16);
                if (idx != null) Vector512.Store(Vector512.Create(firstRow * width + firstColumn), rowIndices + j * 16);
            }
            // Tap by tap across the whole output row, each output's running max kept in the scratch: the taps of one output
            // still come in row-major order, and the row's outputs are independent chains (one output at a time waited on its
            // compare-and-select before the next tap).
            for (int u = 0; u < kh; u++)
            {
                int h = i * sh - ph + u * dh;
                if ((uint)h >= (uint)height) continue;
                for (int v = 0; v < kw; v++)
                {
                    // Output j reads column j·SW + offset: the outputs whose column lies inside the plane.
                    int offset = v * dw - pw;
                    int from = offset >= 0 ? 0 : (-offset + sw - 1) / sw;
                    int to = width - 1 - offset < 0 ? 0 : Math.Min(ow, (width - 1 - offset) / sw + 1);
                    float* tap = scratch + ((long)h * width + offset) * 16;
                    if (idx == null) UpdateMaxima(tap, sw * 16, rowValues, from, to);
                    else UpdateMaximaAndIndices(tap, sw * 16, rowValues, rowIndices, h * width + offset, sw, from, to);
                }
            }
        }
        for (int o = 0; o < wholeOut; o += 16)
        {
            Transpose16.Block(values + o * 16, 16, y + o, ohw);
            if (idx != null) Transpose16.Block((float*)(indices + o * 16), 16, (float*)(idx + o), ohw);
        }
        for (int q = 0; q < 16; q++)
            for (int o = wholeOut; o < ohw; o++)
            {
                y[(long)q * ohw + o] = values[o * 16 + q];
                if (idx != null) idx[(long)q * ohw + o] = indices[o * 16 + q];
            }
    }

    // best[j] ← value[j] where value[j] > best[j] or is NaN, unless best[j] is NaN (ForwardPlaneGeneral's rule), for outputs
    // j in [from, to) of a row: value[j] is the tap at taps + j·step, best[j] at best + 16j.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void UpdateMaxima(float* taps, int step, float* best, int from, int to)
    {
        for (int j = from; j < to; j++)
        {
            var value = Vector512.Load(taps + (long)j * step);
            var current = Vector512.Load(best + j * 16);
            Vector512.Store(Vector512.ConditionalSelect(Takes(value, current), value, current), best + j * 16);
        }
    }

    // UpdateMaxima, and bestAt[j] ← the tap's index (first + j·stride) where the value is taken.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void UpdateMaximaAndIndices(float* taps, int step, float* best, int* bestAt, int first, int stride, int from,
        int to)
    {
        for (int j = from; j < to; j++)
        {
            var value = Vector512.Load(taps + (long)j * step);
            var current = Vector512.Load(best + j * 16);
            var take = Takes(value, current);
            Vector512.Store(Vector512.ConditionalSelect(take, value, current), best + j * 16);
            var at = Vector512.Load(bestAt + j * 16);
            Vector512.Store(Vector512.ConditionalSelect(take.AsInt32(), Vector512.Create(first + j * stride), at), bestAt + j * 16);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Takes(Vector512<float> value, Vector512<float> best) =>
        Vector512.Equals(best, best) & (Vector512.GreaterThan(value, best) | ~Vector512.Equals(value, value));
}
