using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend as in AvgPool2dKernel.cs; here 2x2 windows at stride 2 with no padding, every window whole
// (MaxPool2dKernel.IsWhole2x2), so each divisor is 4 and each input lies in at most one window.

public static partial class AvgPool2dKernel
{
    /// <summary>
    /// Planes start … end − 1 of the common 2x2 average pool, 16 outputs at a time: two rows of 32 floats,
    /// split into the windows' four taps by permutes (<see cref="Windows2x2"/>, as the max pool does), then
    /// (((0 + a) + b) + c) + d, divided by 4: the general loop's sum in its order, so the same bits.
    /// The general loop works out each output's window and divisor, one output at a time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ForwardPlanes2x2(in Pool2dGeometry g, float* x, float* y, int start, int end)
    {
        int oh = g.OH, ow = g.OW, w = g.W, hw = g.H * w, ohw = oh * ow, planes = g.N * g.C;
        var evens = Windows2x2.Evens;
        var four = Vector512.Create(4f);
        for (int plane = start; plane < end; plane++)
        {
            float* src = x + (long)plane * hw, dst = y + (long)plane * ohw;
            long readable = (long)(planes - plane) * hw;   // floats from src to the end of x
            for (int i = 0; i < oh; i++)
            {
                float* top = src + 2 * i * w, bottom = top + w, row = dst + i * ow;
                int j = 0;
                // Whole 32-float loads while they stay inside x (their lanes past the row are dropped).
                for (; j < ow && 2L * i * w + w + 2L * j + 32 <= readable; j += 16)
                {
                    Windows2x2.Taps(top + 2 * j, w, evens, affine: false, default, default, out var a, out var b, out var c, out var d);
                    var mean = ((((Vector512<float>.Zero + a) + b) + c) + d) / four;
                    if (ow - j >= 16) mean.Store(row + j);
                    else Avx512F.MaskStore(row + j, LaneMask.First(ow - j).AsSingle(), mean);
                }
                for (; j < ow; j++)
                {
                    float s = 0;
                    s += top[2 * j];
                    s += top[2 * j + 1];
                    s += bottom[2 * j];
                    s += bottom[2 * j + 1];
                    row[j] = s / 4;
                }
            }
        }
    }

    /// <summary>
    /// dx += dy / 4 at each of its window's four inputs for planes start … end − 1, 16 outputs at a time:
    /// dy / 4 with each lane doubled (one per column of its window) added to both of the window's rows.
    /// The general loop's values in its order (each input gets exactly one term), so the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void BackwardPlanes2x2(in Pool2dGeometry g, float* dy, float* dx, int start, int end)
    {
        int oh = g.OH, ow = g.OW, w = g.W, hw = g.H * w, ohw = oh * ow;
        var firstHalf = Vector512.Create(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
        var secondHalf = firstHalf + Vector512.Create(8);
        var four = Vector512.Create(4f);
        for (int plane = start; plane < end; plane++)
        {
            float* src = dy + (long)plane * ohw, dst = dx + (long)plane * hw;
            for (int i = 0; i < oh; i++)
            {
                float* top = dst + 2 * i * w, bottom = top + w;
                for (int j = 0; j < ow; j += 16)
                {
                    int count = Math.Min(16, ow - j);
                    var d = Avx512F.MaskLoad(src + i * ow + j, LaneMask.First(count).AsSingle(), Vector512<float>.Zero) / four;
                    var lo = Avx512F.PermuteVar16x32(d, firstHalf);
                    var loMask = LaneMask.First(Math.Min(16, 2 * count)).AsSingle();
                    AddRow(top + 2 * j, lo, loMask);
                    AddRow(bottom + 2 * j, lo, loMask);
                    if (count > 8)
                    {
                        var hi = Avx512F.PermuteVar16x32(d, secondHalf);
                        var hiMask = LaneMask.First(2 * count - 16).AsSingle();
                        AddRow(top + 2 * j + 16, hi, hiMask);
                        AddRow(bottom + 2 * j + 16, hi, hiMask);
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void AddRow(float* p, Vector512<float> v, Vector512<float> mask) =>
        Avx512F.MaskStore(p, mask, Avx512F.MaskLoad(p, mask, Vector512<float>.Zero) + v);
}
