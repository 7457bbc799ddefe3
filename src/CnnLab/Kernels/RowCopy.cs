using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

/// <summary>
/// Copies of short rows (a plane's row into a padded plane, a tile's row into its output, a run of a GEMM panel), inlined
/// into the loop that makes them: <c>Span.CopyTo</c> is a call into <c>Memmove</c> per row, which costs more than the copy for
/// rows of 7 to 64 floats. Whole vectors, then the row's last vector again where the row is at least one vector long (its
/// store overlaps the one before and rewrites the same values): a masked load and store cost more than that second store
/// (bench/RESULTS.md). Rows shorter than 4 floats go one by one.
/// </summary>
internal static unsafe class RowCopy
{
    /// <summary>dst[i] = src[i] for i &lt; <paramref name="count"/>; the two rows must not overlap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Copy(float* src, float* dst, int count)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated && count >= 16)
        {
            for (; i + 16 <= count; i += 16) Vector512.Store(Vector512.Load(src + i), dst + i);
            if (i < count) Vector512.Store(Vector512.Load(src + count - 16), dst + count - 16);
            return;
        }
        if (Vector256.IsHardwareAccelerated && count >= 8)
        {
            for (; i + 8 <= count; i += 8) Vector256.Store(Vector256.Load(src + i), dst + i);
            if (i < count) Vector256.Store(Vector256.Load(src + count - 8), dst + count - 8);
            return;
        }
        if (Vector128.IsHardwareAccelerated && count >= 4)
        {
            for (; i + 4 <= count; i += 4) Vector128.Store(Vector128.Load(src + i), dst + i);
            if (i < count) Vector128.Store(Vector128.Load(src + count - 4), dst + count - 4);
            return;
        }
        for (; i < count; i++) dst[i] = src[i];
    }

    /// <summary>
    /// The inside of zero-bordered planes: padded[c, i + ph, j + pw] = x[c, i, j] for planes of h x w into planes of
    /// (h + 2·ph) x (w + 2·pw); the border is not written (the direct kernels zero it once and keep the scratch).
    /// </summary>
    public static void IntoPadded(float* x, int channels, int h, int w, int ph, int pw, float* padded)
    {
        int hp = h + 2 * ph, wp = w + 2 * pw;
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < h; i++)
                Copy(x + ((long)c * h + i) * w, padded + ((long)c * hp + i + ph) * wp + pw, w);
    }
}
