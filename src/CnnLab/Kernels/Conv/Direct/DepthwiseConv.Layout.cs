using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

internal static unsafe partial class DepthwiseConv
{
    /// <summary>
    /// dst[(a·SW + r)·len + m] = src[a − top, m·SW + r − left] for a &lt; dstRows, r &lt; SW, m &lt; len (0 outside src
    /// [srcRows, srcCols]): the rows of src shifted by (top, left) into zero padding, each split into SW column phases
    /// (phase r holds columns r, r + SW, …). Every float of dst is written; len is a multiple of 16. At SW = 2 two loads
    /// give 16 floats of both phases by two two-source permutes (vpermt2ps). Loads at the edges of a row read whole vectors
    /// where [<paramref name="lo"/>, <paramref name="hi"/>) (around src) allows, else masked loads (slower).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PadRows(float* src, int srcRows, int srcCols, int top, int left, float* dst, int dstRows, int len, int sw,
        float* lo, float* hi)
    {
        for (int a = 0; a < dstRows; a++)
        {
            float* row = src + (long)(a - top) * srcCols, d = dst + (long)a * sw * len;
            if (a < top || a - top >= srcRows)
            {
                // Padding rows are short: stores beat a call to Clear.
                if (Vector512.IsHardwareAccelerated)
                    for (int m = 0; m < sw * len; m += 16) Vector512.Store(Vector512<float>.Zero, d + m);
                else new Span<float>(d, sw * len).Clear();
            }
            else if (Vector512.IsHardwareAccelerated && sw == 1)
                for (int m = 0; m < len; m += 16) Vector512.Store(LoadInside(row, m - left, srcCols, lo, hi), d + m);
            else if (Vector512.IsHardwareAccelerated && sw == 2)
            {
                // Columns 2m − left, 2m − left + 1, … : phase 0 takes the even lanes, phase 1 the odd ones, of the same loads.
                Vector512<int> evens = StrideTwoRows.Evens, odds = evens + Vector512<int>.One;
                for (int m = 0; m < len; m += 16)
                {
                    int at = 2 * m - left;
                    Vector512<float> u = LoadInside(row, at, srcCols, lo, hi), v = LoadInside(row, at + 16, srcCols, lo, hi);
                    Vector512.Store(Avx512F.PermuteVar16x32x2(u, evens, v), d + m);
                    Vector512.Store(Avx512F.PermuteVar16x32x2(u, odds, v), d + len + m);
                }
            }
            else
                for (int r = 0; r < sw; r++)
                    for (int m = 0; m < len; m++)
                    {
                        int at = m * sw + r - left;
                        d[r * len + m] = at >= 0 && at < srcCols ? row[at] : 0f;
                    }
        }
    }

    // row[at + l] for 0 ≤ at + l < count, else 0.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> LoadInside(float* row, int at, int count, float* lo, float* hi)
    {
        if (at >= 0 && at + 16 <= count) return Vector512.Load(row + at);
        if (at >= count || at + 16 <= 0) return Vector512<float>.Zero;
        var inside = Vector512.LessThan((Vector512<int>.Indices + Vector512.Create(at)).AsUInt32(), Vector512.Create((uint)count)).AsSingle();
        float* p = row + at;
        return p >= lo && p + 16 <= hi ? Vector512.Load(p) & inside : Avx512F.MaskLoad(p, inside, Vector512<float>.Zero);
    }
}
