using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend as in Winograd4x4.cs. A tiny plane: 5 to 8 rows and columns, so 2x2 tiles; a vector of tiles holds 4 images' planes,
// lane l = 4p + 2ty + tx (image p of the 4, tile (ty, tx)), as V holds consecutive images' tiles one after the other.

internal static unsafe partial class Winograd4x4
{
    /// <summary>
    /// Whether an H x W plane is tiny: 2x2 tiles (5 to 8 rows and columns), a quarter of a vector, so that the transforms take
    /// 4 images' planes at once (<see cref="TransformTinyInputs"/>, <see cref="TransformTinyOutputs"/>).
    /// </summary>
    public static bool IsTiny(int h, int w) => h is >= 5 and <= 8 && w is >= 5 and <= 8;

    // For patch column b: the float each lane reads from its image's pair of rows [row for tile row 0 | row for tile row 1]
    // (8 floats each; images 1 and 3 from the permute's second operand), a float known to be zero for a column outside the
    // plane (or, 8 wide, none: cleared by the mask).
    private sealed class TinyColumns
    {
        public readonly Vector512<int>[] Index = new Vector512<int>[6];
        public readonly Vector512<float>[] Inside = new Vector512<float>[6];
        public readonly Vector512<float>[] Second = new Vector512<float>[6];

        public TinyColumns(int w)
        {
            Span<int> index = stackalloc int[16], inside = stackalloc int[16];
            for (int b = 0; b < 6; b++)
            {
                for (int l = 0; l < 16; l++)
                {
                    int p = l / 4, ty = l % 4 / 2, c = 4 * (l % 2) - 1 + b;
                    bool within = c >= 0 && c < w;
                    (index[l], inside[l]) = (8 * ty + (within ? c : 7) + 16 * (p % 2), within ? -1 : 0);
                }
                (Index[b], Inside[b]) = (Vector512.Create(index), Vector512.Create(inside).AsSingle());
                Second[b] = Vector512.Create(0, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1).AsSingle();
            }
        }
    }

    private static readonly TinyColumns?[] s_tinyColumns = new TinyColumns?[9];

    /// <summary>
    /// V_ξ of <paramref name="count"/> tiny planes (consecutive, H·W floats each): plane p's 4 tiles at v[ξ·xiStride + 4p + t],
    /// the same values as <see cref="WinogradPatches.TransformInput"/> gives each. Writes run 16 tiles at a time, zero past the planes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void TransformTinyInputs(float* planes, int count, int h, int w, float* v, long xiStride)
    {
        if (!IsTiny(h, w)) throw new ArgumentOutOfRangeException(nameof(h), $"{h}x{w}: tiny planes are 5 to 8 rows and columns");
        var columns = s_tinyColumns[w] ??= new TinyColumns(w);
        long plane = (long)h * w;
        float* buffer = stackalloc float[6 * 64 + 16];
        float* u = CacheLines.LineStart(buffer);   // [row i of Bᵀ·d][image p of the 4][16 lanes]
        for (int p0 = 0; p0 < count; p0 += 4)
        {
            int images = Math.Min(4, count - p0);
            for (int p = 0; p < 4; p++)
            {
                float* x = planes + (p0 + p) * plane;
                bool present = p < images;
                WinogradPatches.Down(RowPair(x, 0, h, w, present), RowPair(x, 1, h, w, present), RowPair(x, 2, h, w, present),
                    RowPair(x, 3, h, w, present), RowPair(x, 4, h, w, present), RowPair(x, 5, h, w, present),
                    out var e0, out var e1, out var e2, out var e3, out var e4, out var e5);
                WinogradPatches.StoreSix(u + 16 * p, 64, e0, e1, e2, e3, e4, e5);
            }
            WinogradPatches.AcrossAndStore(u, columns.Index, columns.Second, w == 8 ? columns.Inside : null, v + 4 * p0, xiStride);
        }
    }

    // Patch row a of one plane's two tile rows, input rows a − 1 and a + 3, 8 floats each (zero outside the plane and past w).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> RowPair(float* x, int a, int h, int w, bool present)
    {
        if (!present) return Vector512<float>.Zero;
        WinogradPatches.Row(x, a - 1, h, w, 0, out var top);
        WinogradPatches.Row(x, a + 3, h, w, 0, out var bottom);
        return Vector512.Create(top.GetLower(), bottom.GetLower());
    }

    /// <summary>
    /// y (+)= act(Aᵀ·M·A + bias) of <paramref name="count"/> tiny planes whose tiles lie at m + 4s (plane s at
    /// y + s·<paramref name="imageStride"/>), as <see cref="TransformOutput"/> gives each: 4 planes' tiles transformed at once,
    /// each plane's output rows a and a + 4 interleaved into one vector and stored by two masked stores.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void TransformTinyOutputs(float* m, long xiStride, int h, int w, int count, float* bias, bool relu, bool accumulate,
        float* y, long imageStride)
    {
        if (!IsTiny(h, w)) throw new ArgumentOutOfRangeException(nameof(h), $"{h}x{w}: tiny planes are 5 to 8 rows and columns");
        // Lane 8ty + 4tx + k of image p's vector takes lane 4p + 2ty + tx of column k: k = 0 and 2 from the first operand.
        var baseIndex = Vector512.Create(0, 16, 0, 16, 1, 17, 1, 17, 2, 18, 2, 18, 3, 19, 3, 19);
        var upper = Vector512.Create(0, 0, -1, -1, 0, 0, -1, -1, 0, 0, -1, -1, 0, 0, -1, -1).AsSingle();
        var maskTop = LaneMask.First(w).AsSingle();
        var maskBottom = (Vector512.GreaterThanOrEqual(Vector512<int>.Indices, Vector512.Create(8))
            & Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(8 + w))).AsSingle();
        var b = bias != null ? Vector512.Create(*bias) : Vector512<float>.Zero;
        bool addBias = bias != null;
        for (int p0 = 0; p0 < count; p0 += 4)
        {
            float* at = m + 4 * p0;
            Across(at, xiStride, 0, out var q00, out var q01, out var q02, out var q03);
            Across(at, xiStride, 1, out var q10, out var q11, out var q12, out var q13);
            Across(at, xiStride, 2, out var q20, out var q21, out var q22, out var q23);
            Across(at, xiStride, 3, out var q30, out var q31, out var q32, out var q33);
            Across(at, xiStride, 4, out var q40, out var q41, out var q42, out var q43);
            Across(at, xiStride, 5, out var q50, out var q51, out var q52, out var q53);
            Combine(q00, q10, q20, q30, q40, q50, out var y00, out var y10, out var y20, out var y30);
            Combine(q01, q11, q21, q31, q41, q51, out var y01, out var y11, out var y21, out var y31);
            Combine(q02, q12, q22, q32, q42, q52, out var y02, out var y12, out var y22, out var y32);
            Combine(q03, q13, q23, q33, q43, q53, out var y03, out var y13, out var y23, out var y33);
            for (int p = 0; p < 4 && p0 + p < count; p++)
            {
                // Lanes 8ty + 4tx + k: 4p + 2ty + tx, so (0, 0, 1, 1, 2, 2, 3, 3) + 4p in pairs of columns.
                var index = TinyIndex(baseIndex, p);
                float* yp = y + (p0 + p) * imageStride;
                TinyRow(yp, 0, h, w, y00, y01, y02, y03, index, upper, maskTop, maskBottom, b, addBias, relu, accumulate);
                TinyRow(yp, 1, h, w, y10, y11, y12, y13, index, upper, maskTop, maskBottom, b, addBias, relu, accumulate);
                TinyRow(yp, 2, h, w, y20, y21, y22, y23, index, upper, maskTop, maskBottom, b, addBias, relu, accumulate);
                TinyRow(yp, 3, h, w, y30, y31, y32, y33, index, upper, maskTop, maskBottom, b, addBias, relu, accumulate);
            }
        }
    }

    // The output of lane 8ty + 4tx + k comes from lane 4p + 2ty + tx: the base index's tile q = 2ty + tx, plus 4p.
    private static Vector512<int> TinyIndex(Vector512<int> baseIndex, int p) => baseIndex + Vector512.Create(4 * p);

    // Output rows a (tile row 0) and a + 4 (tile row 1) of one plane from its lanes of the four output columns.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TinyRow(float* y, int a, int h, int w, Vector512<float> c0, Vector512<float> c1, Vector512<float> c2,
        Vector512<float> c3, Vector512<int> index, Vector512<float> upper, Vector512<float> maskTop, Vector512<float> maskBottom,
        Vector512<float> bias, bool addBias, bool relu, bool accumulate)
    {
        var rows = Vector512.ConditionalSelect(upper, Avx512F.PermuteVar16x32x2(c2, index, c3), Avx512F.PermuteVar16x32x2(c0, index, c1));
        Winograd3x3.Finish(y + a * w, rows, maskTop, bias, addBias, relu, accumulate);
        // Lanes 8 … 8 + w − 1 hold row a + 4: stored from 8 floats before it, those lanes masked off.
        if (a + 4 < h) Winograd3x3.Finish(y + (a + 4) * w - 8, rows, maskBottom, bias, addBias, relu, accumulate);
    }
}
