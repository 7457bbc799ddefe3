using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend as in Winograd3x3.cs. E and O: a padded row's even and odd columns, E[j] = x[2j − 1], O[j] = x[2j]
// (x of that row, zero outside it); a tile row's four columns are E[j], O[j], E[j + 1], O[j + 1].

internal static unsafe partial class Winograd3x3
{
    /// <summary>Planes this wide or narrower (every zoo plane after the first pool: 14, 7) take <see cref="TransformNarrowInput"/>.</summary>
    internal const int NarrowWidth = 30;

    /// <summary>
    /// <see cref="TransformInput"/> for a plane at most <see cref="NarrowWidth"/> wide, the same values bit for
    /// bit, without the scratch: a padded row's E[j], O[j], E[j + 1], O[j + 1] for all its tiles fit one
    /// vector each, so they are made in registers from the row (its even and odd columns, each shifted by a lane)
    /// instead of being split into the scratch and read back. The read-back was the cost: its loads at
    /// E[j + 1] straddle two of the split's just-made stores, which the store-to-load forwarding cannot
    /// serve, so each waited for the stores to reach the cache. Masked loads are avoided too: one from L2
    /// or further took about twice a whole one here.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void TransformNarrowInput(float* x, int h, int w, float* v, long xiStride)
    {
        int th = (h + 1) / 2, tw = (w + 1) / 2;
        var maskLo = LaneMask.First(Math.Min(16, w)).AsSingle();
        var maskHi = LaneMask.First(w - 16).AsSingle();
        // Padded rows 2ty … 2ty + 3 of tile row ty (a, b, c, d: x rows 2ty − 1 … 2ty + 2); c and d are the
        // next tile row's a and b.
        Split(x, -1, h, w, maskLo, maskHi, out var ae0, out var ao0, out var ae1, out var ao1);
        Split(x, 0, h, w, maskLo, maskHi, out var be0, out var bo0, out var be1, out var bo1);
        for (int ty = 0; ty < th; ty++)
        {
            Split(x, 2 * ty + 1, h, w, maskLo, maskHi, out var ce0, out var co0, out var ce1, out var co1);
            Split(x, 2 * ty + 2, h, w, maskLo, maskHi, out var de0, out var do0, out var de1, out var do1);
            float* dst = v + ty * tw;
            // Bᵀ·d down the columns: rows (d0 − d2, d1 + d2, d2 − d1, d1 − d3), for each of the four column sets.
            Row(dst, xiStride, 0, ae0 - ce0, ao0 - co0, ae1 - ce1, ao1 - co1);
            Row(dst, xiStride, 1, be0 + ce0, bo0 + co0, be1 + ce1, bo1 + co1);
            Row(dst, xiStride, 2, ce0 - be0, co0 - bo0, ce1 - be1, co1 - bo1);
            Row(dst, xiStride, 3, be0 - de0, bo0 - do0, be1 - de1, bo1 - do1);
            (ae0, ao0, ae1, ao1, be0, bo0, be1, bo1) = (ce0, co0, ce1, co1, de0, do0, de1, do1);
        }
    }

    // E[j], O[j], E[j + 1], O[j + 1] (j = 0 … 15) of row r of x (padded row r + 1), zero outside the plane and
    // past the row as the scratch's columns are: the row's even and odd columns (SplitColumns: whole loads
    // where they stay inside the plane), each also shifted by a lane.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Split(float* x, int r, int h, int w, Vector512<float> maskLo, Vector512<float> maskHi,
        out Vector512<float> e0, out Vector512<float> o0, out Vector512<float> e1, out Vector512<float> o1)
    {
        if ((uint)r >= (uint)h)
        {
            var zero = Vector512<float>.Zero;
            (e0, o0, e1, o1) = (zero, zero, zero, zero);
            return;
        }
        SplitColumns(x + (long)r * w, w, (long)(h - r) * w, maskLo, maskHi, out o0, out e1);       // x[2j], x[2j + 1]
        o1 = Avx512F.AlignRight32(Vector512<int>.Zero, o0.AsInt32(), 1).AsSingle();            // x[2j + 2]: o0 one lane down, zero in lane 15
        e0 = Avx512F.AlignRight32(e1.AsInt32(), Vector512<int>.Zero, 15).AsSingle();           // x[2j − 1]: e1 one lane up, zero in lane 0
    }
}
