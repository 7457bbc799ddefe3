using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend as in Winograd3x3.cs. A small plane: H, W ≤ 8, so TH·TW ≤ 16 tiles, all in one vector (lane t = tile t). d_ab,
// a, b = 0 … 3: element (a, b) of every tile's 4x4 input patch, x[2ty + a − 1, 2tx + b − 1] (zero outside the plane).

internal static unsafe partial class Winograd3x3
{
    /// <summary>Planes at most this high and wide hold all their tiles in one vector (<see cref="SmallPlane"/>).</summary>
    internal const int SmallSide = 8;

    /// <summary>
    /// The permutes that gather a small plane's tiles into lanes: for each patch element d_ab the plane index each lane
    /// reads (its low five bits pick one of 32 floats, bit 5 which half of the plane), and the lanes inside the plane; for
    /// the output, the lane of [Y00 | Y01 | Y10 | Y11] (the tiles' four outputs) each output float takes.
    /// </summary>
    private sealed class SmallPlane
    {
        public readonly Vector512<int>[] Index = new Vector512<int>[16], OutIndex = new Vector512<int>[4];
        public readonly Vector512<float>[] High = new Vector512<float>[16], Inside = new Vector512<float>[16], OutHigh = new Vector512<float>[4];

        public SmallPlane(int h, int w)
        {
            int th = (h + 1) / 2, tw = (w + 1) / 2;
            Span<int> index = stackalloc int[16], high = stackalloc int[16], inside = stackalloc int[16];
            for (int ab = 0; ab < 16; ab++)
            {
                for (int t = 0; t < 16; t++)
                {
                    int r = 2 * (t / tw) + ab / 4 - 1, c = 2 * (t % tw) + ab % 4 - 1;
                    bool within = t < th * tw && r >= 0 && r < h && c >= 0 && c < w;
                    int at = within ? r * w + c : 0;
                    (index[t], high[t], inside[t]) = (at, at >= 32 ? -1 : 0, within ? -1 : 0);
                }
                (Index[ab], High[ab], Inside[ab]) = (Vector512.Create(index), Vector512.Create(high).AsSingle(), Vector512.Create(inside).AsSingle());
            }
            for (int k = 0; k < 4; k++)
            {
                for (int l = 0; l < 16; l++)
                {
                    int o = Math.Min(16 * k + l, h * w - 1), r = o / w, c = o % w;
                    int at = (r % 2 * 2 + c % 2) * 16 + r / 2 * tw + c / 2;
                    (index[l], high[l]) = (at, at >= 32 ? -1 : 0);
                }
                (OutIndex[k], OutHigh[k]) = (Vector512.Create(index), Vector512.Create(high).AsSingle());
            }
        }
    }

    private static readonly SmallPlane?[] s_smallPlanes = new SmallPlane?[(SmallSide + 1) * (SmallSide + 1)];

    // Made once per plane size (a benign race: two threads may both make it, with the same contents).
    private static SmallPlane SmallPlaneOf(int h, int w) => s_smallPlanes[h * (SmallSide + 1) + w] ??= new SmallPlane(h, w);

    // The plane's floats 16k … 16k + 15 (zero past its end, which is never read past).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> PlaneVector(float* x, int k, int length) =>
        16 * k + 16 <= length ? Vector512.Load(x + 16 * k)
        : 16 * k >= length ? Vector512<float>.Zero
        : Avx512F.MaskLoad(x + 16 * k, LaneMask.First(length - 16 * k).AsSingle(), Vector512<float>.Zero);

    /// <summary>
    /// <see cref="TransformInput"/> for a plane of at most <see cref="SmallSide"/> x <see cref="SmallSide"/>, the same values
    /// bit for bit: the plane (at most 64 floats) is loaded into four vectors and each patch element of all its tiles is
    /// gathered into one vector by two permutes, so each of the 16 positions is one store. Row by row, a row of 4 tiles
    /// filled a quarter of each vector and each position took a store per tile row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void TransformSmallInput(float* x, int h, int w, float* v, long xiStride)
    {
        var plane = SmallPlaneOf(h, w);
        int length = h * w;
        Vector512<float> x0 = PlaneVector(x, 0, length), x1 = PlaneVector(x, 1, length);
        Vector512<float> x2 = PlaneVector(x, 2, length), x3 = PlaneVector(x, 3, length);
        // Bᵀ·d down each column b of every tile: (d0 − d2, d1 + d2, d2 − d1, d1 − d3), as the row-by-row transform takes it.
        Down4(plane, 0, x0, x1, x2, x3, out var c00, out var c10, out var c20, out var c30);
        Down4(plane, 1, x0, x1, x2, x3, out var c01, out var c11, out var c21, out var c31);
        Down4(plane, 2, x0, x1, x2, x3, out var c02, out var c12, out var c22, out var c32);
        Down4(plane, 3, x0, x1, x2, x3, out var c03, out var c13, out var c23, out var c33);
        // ·B across each row i: (c0 − c2, c1 + c2, c2 − c1, c1 − c3).
        Row(v, xiStride, 0, c00, c01, c02, c03);
        Row(v, xiStride, 1, c10, c11, c12, c13);
        Row(v, xiStride, 2, c20, c21, c22, c23);
        Row(v, xiStride, 3, c30, c31, c32, c33);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Down4(SmallPlane plane, int b, Vector512<float> x0, Vector512<float> x1, Vector512<float> x2, Vector512<float> x3,
        out Vector512<float> r0, out Vector512<float> r1, out Vector512<float> r2, out Vector512<float> r3)
    {
        Vector512<float> d0 = Gather(plane, b, x0, x1, x2, x3), d1 = Gather(plane, 4 + b, x0, x1, x2, x3);
        Vector512<float> d2 = Gather(plane, 8 + b, x0, x1, x2, x3), d3 = Gather(plane, 12 + b, x0, x1, x2, x3);
        (r0, r1, r2, r3) = (d0 - d2, d1 + d2, d2 - d1, d1 - d3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Gather(SmallPlane plane, int ab, Vector512<float> x0, Vector512<float> x1, Vector512<float> x2,
        Vector512<float> x3)
    {
        var index = plane.Index[ab];
        var low = Avx512F.PermuteVar16x32x2(x0, index, x1);
        var high = Avx512F.PermuteVar16x32x2(x2, index, x3);
        return Vector512.ConditionalSelect(plane.High[ab], high, low) & plane.Inside[ab];
    }

    /// <summary>
    /// <see cref="TransformOutput"/> of a whole plane of at most <see cref="SmallSide"/> x <see cref="SmallSide"/>, the same
    /// values bit for bit: its tiles' 16 positions are one vector each, their four outputs are made across all tiles at
    /// once, and the output plane (at most 64 floats) is put together by two permutes a vector and stored whole.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void TransformSmallOutput(float* m, long xiStride, int h, int w, float* bias, bool relu, bool accumulate, float* y)
    {
        var plane = SmallPlaneOf(h, w);
        // Aᵀ·M down the columns: (m0 + m1 + m2, m1 − m2 − m3) for each of the 4 columns, then ·A across: (c0 + c1 + c2, c1 − c2 − c3).
        Down(m, xiStride, 0, out var s0, out var u0);
        Down(m, xiStride, 1, out var s1, out var u1);
        Down(m, xiStride, 2, out var s2, out var u2);
        Down(m, xiStride, 3, out var s3, out var u3);
        Vector512<float> y00 = s0 + s1 + s2, y01 = s1 - s2 - s3, y10 = u0 + u1 + u2, y11 = u1 - u2 - u3;
        var b = bias != null ? Vector512.Create(*bias) : Vector512<float>.Zero;
        int length = h * w;
        for (int k = 0; 16 * k < length; k++)
        {
            var index = plane.OutIndex[k];
            var value = Vector512.ConditionalSelect(plane.OutHigh[k], Avx512F.PermuteVar16x32x2(y10, index, y11),
                Avx512F.PermuteVar16x32x2(y00, index, y01));
            Finish(y + 16 * k, value, LaneMask.First(length - 16 * k).AsSingle(), b, bias != null, relu, accumulate);
        }
    }
}
