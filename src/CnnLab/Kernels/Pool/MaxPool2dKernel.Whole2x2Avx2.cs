using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend as in MaxPool2dKernel.cs. The whole 2x2 windows at stride 2 on a machine without AVX-512: 8 windows a 256-bit vector.

public static partial class MaxPool2dKernel
{
    /// <summary>
    /// One output row of whole 2x2 windows at stride 2 (<see cref="IsWhole2x2"/>), 8 windows a vector with AVX2: the taps of 8 windows
    /// deinterleaved from 16 floats of each input row (the row's last, partial group loaded and stored under a mask), each window by
    /// <see cref="Pick2x2Window"/>'s rule (the first NaN wins, else the first strict maximum), its index from the plane's start
    /// (<paramref name="rowStart"/>: the top row's), idxRow null for the values alone. Groups with a NaN take the scalar rule.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void ForwardRow2x2Avx2(float* top, float* yRow, int* idxRow, int ow, int w, int rowStart)
    {
        float* bottom = top + w;
        var atC = Vector256.Create(w);
        var atD = Vector256.Create(w + 1);
        var twice = Vector256<int>.Indices * 2;
        for (int j = 0; j < ow; j += 8)
        {
            int count = Math.Min(8, ow - j);
            Vector256<float> first = LaneMask.First256(2 * count), second = LaneMask.First256(2 * count - 8);
            Vector256<float> stored = LaneMask.First256(count);
            // The windows' left taps are the rows' even columns, their right taps the odd ones.
            EvenOdd256.Split(Avx.MaskLoad(top + 2 * j, first), Avx.MaskLoad(top + 2 * j + 8, second), out var a, out var b);
            EvenOdd256.Split(Avx.MaskLoad(bottom + 2 * j, first), Avx.MaskLoad(bottom + 2 * j + 8, second), out var c, out var d);
            if (!(Vector256.EqualsAll(a, a) && Vector256.EqualsAll(b, b) && Vector256.EqualsAll(c, c) && Vector256.EqualsAll(d, d)))
            {
                for (int k = j; k < j + count; k++)
                {
                    yRow[k] = Pick2x2Window(top[2 * k], top[2 * k + 1], bottom[2 * k], bottom[2 * k + 1], w, w + 1, out int tap);
                    if (idxRow != null) idxRow[k] = rowStart + 2 * k + tap;
                }
                continue;
            }
            // vmaxps v, best = v > best ? v : best in scan order keeps the first of equal taps; the first tap equal to it is its place.
            var best = Avx.Max(d, Avx.Max(c, Avx.Max(b, a)));
            Avx.MaskStore(yRow + j, stored, best);
            if (idxRow == null) continue;
            var at = Vector256.ConditionalSelect(Vector256.Equals(c, best).AsInt32(), atC, atD);
            at = Vector256.ConditionalSelect(Vector256.Equals(b, best).AsInt32(), Vector256<int>.One, at);
            at = Vector256.ConditionalSelect(Vector256.Equals(a, best).AsInt32(), Vector256<int>.Zero, at);
            Avx2.MaskStore(idxRow + j, stored.AsInt32(), Vector256.Create(rowStart + 2 * j) + twice + at);
        }
    }
}
