using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

internal static unsafe partial class DepthwiseConv
{
    /// <summary>
    /// dw[t] = Σ_{i, j} dy[i, j] · plane[i·rowStep + off[t] + j] for t &lt; taps (the phased x plane, dy [OH, OW] readable up
    /// to dyEnd). Nine taps at a time, each with its own accumulator, so that each dy vector is loaded once for nine FMAs
    /// and nine chains hide the FMA latency; the last group repeats its last tap to fill nine. Each tap's sum runs in a
    /// fixed order (rows, then 16-column vectors, then the lanes), whatever the thread count.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WeightGradient(in Conv2dGeometry g, float* plane, long rowStep, int* off, int taps, float* dy, float* dyEnd, float* dw)
    {
        int oh = g.OH, ow = g.OW;
        if (!Vector512.IsHardwareAccelerated)
        {
            for (int t = 0; t < taps; t++)
            {
                float sum = 0f;
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++) sum = MathF.FusedMultiplyAdd(dy[i * ow + j], plane[i * rowStep + off[t] + j], sum);
                dw[t] = sum;
            }
            return;
        }
        for (int t0 = 0; t0 < taps; t0 += 9)
        {
            int last = Math.Min(taps, t0 + 9) - 1;
            long o0 = off[t0], o1 = off[Math.Min(t0 + 1, last)], o2 = off[Math.Min(t0 + 2, last)], o3 = off[Math.Min(t0 + 3, last)];
            long o4 = off[Math.Min(t0 + 4, last)], o5 = off[Math.Min(t0 + 5, last)], o6 = off[Math.Min(t0 + 6, last)];
            long o7 = off[Math.Min(t0 + 7, last)], o8 = off[last];
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default;
            Vector512<float> a7 = default, a8 = default;
            for (int i = 0; i < oh; i++)
            {
                float* s = plane + i * rowStep, d = dy + (long)i * ow;
                int j = 0;
                for (; j + 16 <= ow; j += 16)
                {
                    var v = Vector512.Load(d + j);
                    float* p = s + j;
                    a0 = Vector512.FusedMultiplyAdd(v, Vector512.Load(p + o0), a0);
                    a1 = Vector512.FusedMultiplyAdd(v, Vector512.Load(p + o1), a1);
                    a2 = Vector512.FusedMultiplyAdd(v, Vector512.Load(p + o2), a2);
                    a3 = Vector512.FusedMultiplyAdd(v, Vector512.Load(p + o3), a3);
                    a4 = Vector512.FusedMultiplyAdd(v, Vector512.Load(p + o4), a4);
                    a5 = Vector512.FusedMultiplyAdd(v, Vector512.Load(p + o5), a5);
                    a6 = Vector512.FusedMultiplyAdd(v, Vector512.Load(p + o6), a6);
                    a7 = Vector512.FusedMultiplyAdd(v, Vector512.Load(p + o7), a7);
                    a8 = Vector512.FusedMultiplyAdd(v, Vector512.Load(p + o8), a8);
                }
                if (j < ow)
                {
                    // Lanes past OW: dy 0 and the plane's floats masked to 0 too (an ∞ of x that no output pairs with this
                    // tap must not make 0·∞ = NaN of it).
                    var keep = LaneMask.First(ow - j).AsSingle();
                    var v = LoadInside(d, j, ow, dy, dyEnd);
                    float* p = s + j;
                    a0 = Vector512.FusedMultiplyAdd(v, Vector512.Load(p + o0) & keep, a0);
                    a1 = Vector512.FusedMultiplyAdd(v, Vector512.Load(p + o1) & keep, a1);
                    a2 = Vector512.FusedMultiplyAdd(v, Vector512.Load(p + o2) & keep, a2);
                    a3 = Vector512.FusedMultiplyAdd(v, Vector512.Load(p + o3) & keep, a3);
                    a4 = Vector512.FusedMultiplyAdd(v, Vector512.Load(p + o4) & keep, a4);
                    a5 = Vector512.FusedMultiplyAdd(v, Vector512.Load(p + o5) & keep, a5);
                    a6 = Vector512.FusedMultiplyAdd(v, Vector512.Load(p + o6) & keep, a6);
                    a7 = Vector512.FusedMultiplyAdd(v, Vector512.Load(p + o7) & keep, a7);
                    a8 = Vector512.FusedMultiplyAdd(v, Vector512.Load(p + o8) & keep, a8);
                }
            }
            // A repeated tap's accumulators hold the same sum, so the order of these stores does not matter.
            dw[t0] = Vector512.Sum(a0);
            dw[Math.Min(t0 + 1, last)] = Vector512.Sum(a1);
            dw[Math.Min(t0 + 2, last)] = Vector512.Sum(a2);
            dw[Math.Min(t0 + 3, last)] = Vector512.Sum(a3);
            dw[Math.Min(t0 + 4, last)] = Vector512.Sum(a4);
            dw[Math.Min(t0 + 5, last)] = Vector512.Sum(a5);
            dw[Math.Min(t0 + 6, last)] = Vector512.Sum(a6);
            dw[Math.Min(t0 + 7, last)] = Vector512.Sum(a7);
            dw[last] = Vector512.Sum(a8);
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
