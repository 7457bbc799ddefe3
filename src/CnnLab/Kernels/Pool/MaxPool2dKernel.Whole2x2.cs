using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend as in MaxPool2dKernel.cs. Here the common 2x2 window at stride 2 with every window whole: its
// vector path (AVX-512), the taps of 16 windows deinterleaved from two rows of 32 floats (Windows2x2).

public static partial class MaxPool2dKernel
{
    // 2x2 windows at stride 2, every window whole (ceil mode may clip the last row or column).
    internal static bool IsWhole2x2(in Pool2dGeometry g) =>
        g is { KH: 2, KW: 2, SH: 2, SW: 2, PH: 0, PW: 0, DH: 1, DW: 1 } && 2 * g.OH <= g.H && 2 * g.OW <= g.W;

    /// <summary>
    /// The 2x2 pooling of one plane x [H, W] (<see cref="IsWhole2x2"/>, output [OH, OW]) of
    /// max(0, x·scale + shift) computed as x is loaded: the same values, operations and order as
    /// <see cref="BatchNormPlanes.ScaleShiftRelu(ReadOnlySpan{float}, float, float, Span{float})"/> into a
    /// buffer and then the pooling of that, so the same bits, without the buffer. x may be read up to
    /// <paramref name="readable"/> floats from its start; y and idx take OH·OW each.
    /// </summary>
    internal static unsafe void ForwardPlane2x2ScaleShiftRelu(int oh, int ow, int w, float* x, float scale, float shift, float* y, int* idx,
        long readable)
        => ForwardPlane2x2(oh, ow, w, x, y, idx, readable, affine: true, scale, shift);

    // The common 2x2 window, stride 2, in scan order (top-left, top-right, bottom-left, bottom-right)
    // with the general loop's rule: the first NaN wins, else the first strict maximum. With AVX-512,
    // 16 outputs at a time: two rows of 32 floats, deinterleaved into the four taps of 16 windows; with AVX2, 8
    // (ForwardRow2x2Avx2, not for the batch norm's affine form).
    // pi null: the values alone (inference), without the compares and blends that find where each came from.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ForwardPlane2x2(int oh, int ow, int w, float* px, float* py, int* pi, long readable,
        bool affine = false, float scale = 1f, float shift = 0f)
    {
        // Planes up to 16 wide (lenet5's conv2: 10x10 → 5x5, cnn-small's: 14x14 → 7x7) pool two output rows per vector.
        bool pairs = Avx512F.IsSupported && w <= RowPairWidth && 2 * ow <= 16 && oh > 1;
        var (pairTaps, pairLoads) = pairs ? (RowPairTaps(w, ow), RowPairLoads(ow)) : default;
        for (int i = 0; i < oh; i++)
        {
            int rowStart = 2 * i * w;
            float* top = px + rowStart, bottom = top + w, yRow = py + (long)i * ow;
            int* idxRow = pi == null ? null : pi + (long)i * ow;
            if (pairs && i + 1 < oh && rowStart + 3 * w + 16 <= readable)
            {
                ForwardRowPair2x2Avx512(top, yRow, idxRow, 2 * ow, w, rowStart, pairTaps, pairLoads, affine, scale, shift);
                i++;
                continue;
            }
            int j = 0;
            if (Avx512F.IsSupported)
                j = ForwardRow2x2Avx512(top, yRow, idxRow, ow, w, rowStart, readable - (rowStart + w), affine, scale, shift);
            else if (Avx2.IsSupported && !affine)
            {
                ForwardRow2x2Avx2(top, yRow, idxRow, ow, w, rowStart);
                continue;
            }
            for (; j < ow; j++)
            {
                float a = top[2 * j], b = top[2 * j + 1], c = bottom[2 * j], d = bottom[2 * j + 1];
                if (affine)
                    (a, b, c, d) = (BatchNormPlanes.ScaleShiftRelu(a, scale, shift), BatchNormPlanes.ScaleShiftRelu(b, scale, shift),
                        BatchNormPlanes.ScaleShiftRelu(c, scale, shift), BatchNormPlanes.ScaleShiftRelu(d, scale, shift));
                float best = Pick2x2Window(a, b, c, d, w, w + 1, out int at);
                yRow[j] = best;
                if (pi != null) idxRow[j] = rowStart + 2 * j + at;
            }
        }
    }

    /// <summary>
    /// <see cref="Pick2x2(Vector512{float}, Vector512{float}, Vector512{float}, Vector512{float}, Vector512{int}, Vector512{int},
    /// out Vector512{float}, out Vector512{int})"/> for one window: its maximum, and in <paramref name="at"/> 0, 1,
    /// <paramref name="atC"/> or <paramref name="atD"/> for the tap it came from.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Pick2x2Window(float a, float b, float c, float d, int atC, int atD, out int at)
    {
        // take v ⇔ v > best, or v is NaN while best is not: !(v <= best) && best is not NaN.
        float best = a;
        at = 0;
        if (!(b <= best) && !float.IsNaN(best)) { best = b; at = 1; }
        if (!(c <= best) && !float.IsNaN(best)) { best = c; at = atC; }
        if (!(d <= best) && !float.IsNaN(best)) { best = d; at = atD; }
        return best;
    }

    // Widest plane whose two output rows' windows ForwardRowPair2x2Avx512 takes: each input row's taps lie in one vector.
    private const int RowPairWidth = 16;

    // Lane k of two output rows (k < 2·OW): its window's top-left tap, 2W·(k / OW) + 2·(k % OW) from the pair's first row.
    // (Lanes from 2·OW on: 0.)
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> RowPairTaps(int w, int ow)
    {
        var k = Vector512<int>.Indices;
        var secondRow = Vector512.GreaterThanOrEqual(k, Vector512.Create(ow));
        var taps = k * 2 + (secondRow & Vector512.Create(2 * (w - ow)));   // 2k, or 2W + 2(k − OW) in the second row
        return taps & LaneMask.First(2 * ow);
    }

    // Where RowPairTaps' windows lie in the two vectors Windows2x2.Taps loads, one at input row 2i and one at row 2i + 2:
    // lane k < OW at 2k in the first, lane OW + k at 2k in the second (16 + 2k).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> RowPairLoads(int ow)
    {
        var k = Vector512<int>.Indices;
        var secondRow = Vector512.GreaterThanOrEqual(k, Vector512.Create(ow));
        return (k * 2 + (secondRow & Vector512.Create(16 - 2 * ow))) & LaneMask.First(2 * ow);
    }

    // Output rows i and i + 1 of a plane up to RowPairWidth wide (count = 2·OW outputs, contiguous in y): the top taps
    // come from input rows 2i and 2i + 2, a vector each, and the bottom taps from the vectors W further, by the same two
    // permutes: half the iterations of ForwardRow2x2Avx512. Reads 16 floats from the start of rows 2i to 2i + 3.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void ForwardRowPair2x2Avx512(float* top, float* yRow, int* idxRow, int count, int w, int rowStart, Vector512<int> taps,
        Vector512<int> loads, bool affine, float scale, float shift)
    {
        Windows2x2.Taps(top, w, loads, affine, Vector512.Create(scale), Vector512.Create(shift), out var a, out var b, out var c, out var d,
            second: 2 * w);
        if (idxRow == null)
        {
            StoreRow(yRow, null, Max2x2(a, b, c, d), default, count);
            return;
        }
        Pick2x2(a, b, c, d, Vector512.Create(w), Vector512.Create(w + 1), out var best, out var at);
        StoreRow(yRow, idxRow, best, Vector512.Create(rowStart) + taps + at, count);
    }

    // Returns how many outputs of the row it wrote. A last group of fewer than 16 outputs (e.g. 14 of
    // a 28-wide row) still runs as a vector when its 32-float loads stay inside x (bottomReadable floats
    // from the bottom row's start); its extra lanes are dropped.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe int ForwardRow2x2Avx512(float* top, float* yRow, int* idxRow, int ow, int w, int rowStart, long bottomReadable,
        bool affine, float scale, float shift)
    {
        var vs = Vector512.Create(scale);
        var vh = Vector512.Create(shift);
        var evens = Windows2x2.Evens;
        var atC = Vector512.Create(w);
        var atD = Vector512.Create(w + 1);
        int j = 0;
        for (; j < ow && 2L * j + 32 <= bottomReadable; j += 16)
        {
            Windows2x2.Taps(top + 2 * j, w, evens, affine, vs, vh, out var a, out var b, out var c, out var d);
            if (idxRow == null)
            {
                StoreRow(yRow + j, null, Max2x2(a, b, c, d), default, ow - j);
                continue;
            }
            Pick2x2(a, b, c, d, atC, atD, out var best, out var at);
            var index = Vector512.Create(rowStart + 2 * j) + evens + at;
            // The row's last, partial group (7 or 14 outputs in the zoo) stores with a mask, no copy.
            StoreRow(yRow + j, idxRow + j, best, index, ow - j);
        }
        return Math.Min(j, ow);
    }

    /// <summary>
    /// The 2x2 window's maximum, lane by lane, from its taps in scan order a (top-left), b, c, d, with the
    /// general loop's rule (the first NaN wins, else the first strict maximum), and where it came from:
    /// 0, 1, <paramref name="atC"/> or <paramref name="atD"/> (the plane's width W and W + 1).
    /// </summary>
    /// <remarks>
    /// Without a NaN among the 16 windows (the usual case, tested in two compares), x86's
    /// <c>vmaxps x, y</c> = x &gt; y ? x : y is the rule itself ("take v ⇔ v &gt; best", −0 and +0 kept
    /// as they come), and the first tap equal to the maximum is where it came from: 3 maxes, 3 compares and
    /// 3 masked blends against 18 vector operations for the NaN-aware chain (<see cref="Pick2x2Ordered"/>).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Pick2x2(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d,
        Vector512<int> atC, Vector512<int> atD, out Vector512<float> best, out Vector512<int> at)
    {
        if (AnyNaN(a, b, c, d)) Pick2x2Ordered(a, b, c, d, atC, atD, out best, out at);
        else Pick2x2WithoutNaN(a, b, c, d, atC, atD, out best, out at);
    }

    /// <summary><see cref="Pick2x2"/>'s maximum alone, NaN included (the first NaN in scan order where a window has one).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Max2x2(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d)
    {
        if (!AnyNaN(a, b, c, d)) return Max2x2WithoutNaN(a, b, c, d);
        Pick2x2Ordered(a, b, c, d, default, default, out var best, out _);
        return best;
    }

    /// <summary><see cref="Pick2x2"/> where no lane of a, b, c, d is NaN (<see cref="AnyNaN"/> is false).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Pick2x2WithoutNaN(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d,
        Vector512<int> atC, Vector512<int> atD, out Vector512<float> best, out Vector512<int> at)
    {
        best = Max2x2WithoutNaN(a, b, c, d);
        at = Vector512.ConditionalSelect(Vector512.Equals(c, best).AsInt32(), atC, atD);
        at = Vector512.ConditionalSelect(Vector512.Equals(b, best).AsInt32(), Vector512<int>.One, at);
        at = Vector512.ConditionalSelect(Vector512.Equals(a, best).AsInt32(), Vector512<int>.Zero, at);
    }

    /// <summary>
    /// <see cref="Pick2x2WithoutNaN"/>'s maximum alone: <c>vmaxps v, best</c> (v &gt; best ? v : best) over the taps in scan
    /// order, so that the first of two equal taps (−0 and +0) is kept.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Max2x2WithoutNaN(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d) =>
        Avx512F.Max(d, Avx512F.Max(c, Avx512F.Max(b, a)));

    /// <summary>Whether any lane of the four is NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool AnyNaN(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d) =>
        (Avx512F.CompareUnordered(a, b) | Avx512F.CompareUnordered(c, d)) != Vector512<float>.Zero;

    /// <summary><see cref="Pick2x2"/>'s rule taken tap by tap, NaN included: take v ⇔ !(v &lt;= best) &amp;&amp; best == best.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Pick2x2Ordered(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d,
        Vector512<int> atC, Vector512<int> atD, out Vector512<float> best, out Vector512<int> at)
    {
        best = a;
        at = Vector512<int>.Zero;
        var take = Vector512.AndNot(Vector512.Equals(best, best), Vector512.LessThanOrEqual(b, best));
        best = Vector512.ConditionalSelect(take, b, best);
        at = Vector512.ConditionalSelect(take.AsInt32(), Vector512<int>.One, at);
        take = Vector512.AndNot(Vector512.Equals(best, best), Vector512.LessThanOrEqual(c, best));
        best = Vector512.ConditionalSelect(take, c, best);
        at = Vector512.ConditionalSelect(take.AsInt32(), atC, at);
        take = Vector512.AndNot(Vector512.Equals(best, best), Vector512.LessThanOrEqual(d, best));
        best = Vector512.ConditionalSelect(take, d, best);
        at = Vector512.ConditionalSelect(take.AsInt32(), atD, at);
    }

    /// <summary>
    /// Stores the first min(16, <paramref name="count"/>) lanes of a pooled row's values and indices (masked when fewer than 16;
    /// <paramref name="idx"/> null: the values alone).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe void StoreRow(float* y, int* idx, Vector512<float> best, Vector512<int> index, int count)
    {
        if (count >= 16)
        {
            best.Store(y);
            if (idx != null) index.Store(idx);
        }
        else
        {
            var keep = LaneMask.First(count);
            Avx512F.MaskStore(y, keep.AsSingle(), best);
            if (idx != null) Avx512F.MaskStore(idx, keep, index);
        }
    }
}
