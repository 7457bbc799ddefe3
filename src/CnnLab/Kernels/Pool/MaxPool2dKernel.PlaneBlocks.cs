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
            int firstRow = i * g.SH - g.PH;
            while (firstRow < 0) firstRow += g.DH;
            for (int j = 0; j < ow; j++)
            {
                int firstColumn = j * g.SW - g.PW;
                while (firstColumn < 0) firstColumn += g.DW;
                var best = Vector512.Create(float.NegativeInfinity);
                var bestAt = Vector512.Create(firstRow * g.W + firstColumn);
                for (int kh = 0; kh < g.KH; kh++)
                {
                    int h = i * g.SH - g.PH + kh * g.DH;
                    if ((uint)h >= (uint)g.H) continue;
                    for (int kw = 0; kw < g.KW; kw++)
                    {
                        int w = j * g.SW - g.PW + kw * g.DW;
                        if ((uint)w >= (uint)g.W) continue;
                        var v = Vector512.Load(scratch + (h * g.W + w) * 16);
                        var take = Vector512.Equals(best, best) & (Vector512.GreaterThan(v, best) | ~Vector512.Equals(v, v));
                        best = Vector512.ConditionalSelect(take, v, best);
                        if (idx != null) bestAt = Vector512.ConditionalSelect(take.AsInt32(), Vector512.Create(h * g.W + w), bestAt);
                    }
                }
                int o = i * ow + j;
                Vector512.Store(best, values + o * 16);
                if (idx != null) Vector512.Store(bestAt, indices + o * 16);
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
}
