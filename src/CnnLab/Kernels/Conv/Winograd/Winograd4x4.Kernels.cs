using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

internal static unsafe partial class Winograd4x4
{
    /// <summary>
    /// <see cref="TransformKernel"/> for eight kernels at once, <paramref name="kernelStride"/> floats apart, one per lane of
    /// doubles: u[ξ·8 + r] for kernel r, the layout of a block of <see cref="WinogradWeights"/>. The same operations in the
    /// same order on each lane as the scalar transform, so the same bits; a layer's weights are prepared on every training
    /// step, where the scalar one took about 1 % of resnet-mini's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void TransformKernels(float* k, long kernelStride, bool turned, float* u)
    {
        Winograd3x3.KernelTaps(k, kernelStride, turned, out var f00, out var f01, out var f02, out var f10, out var f11, out var f12,
            out var f20, out var f21, out var f22);
        // Widened to double exactly, as the scalar transform's loads are.
        var (k00, k01, k02) = (Avx512F.ConvertToVector512Double(f00), Avx512F.ConvertToVector512Double(f01), Avx512F.ConvertToVector512Double(f02));
        var (k10, k11, k12) = (Avx512F.ConvertToVector512Double(f10), Avx512F.ConvertToVector512Double(f11), Avx512F.ConvertToVector512Double(f12));
        var (k20, k21, k22) = (Avx512F.ConvertToVector512Double(f20), Avx512F.ConvertToVector512Double(f21), Avx512F.ConvertToVector512Double(f22));
        var quarter = Vector512.Create(Quarter);
        var minusSixth = Vector512.Create(-Sixth);
        Row(k00 * quarter, k01 * quarter, k02 * quarter, u);
        Row((k00 + k10 + k20) * minusSixth, (k01 + k11 + k21) * minusSixth, (k02 + k12 + k22) * minusSixth, u + 6 * 8);
        Row((k00 - k10 + k20) * minusSixth, (k01 - k11 + k21) * minusSixth, (k02 - k12 + k22) * minusSixth, u + 12 * 8);
        Row(Fourth(k00, k10, k20, 1), Fourth(k01, k11, k21, 1), Fourth(k02, k12, k22, 1), u + 18 * 8);
        Row(Fourth(k00, k10, k20, -1), Fourth(k01, k11, k21, -1), Fourth(k02, k12, k22, -1), u + 24 * 8);
        Row(k20, k21, k22, u + 30 * 8);
    }

    /// <summary>
    /// <see cref="KernelGradient"/> for eight (o, c) at once: lane l's dU at du[ξ·<paramref name="duStride"/> + l], its kernel
    /// gradient at dk + l·9 (+=). The scalar form's operations in its order on each lane, in doubles: the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void KernelGradients(float* du, long duStride, float* dk)
    {
        Vector512<double>* t = stackalloc Vector512<double>[18];   // Gᵀ·dU, [3, 6]
        for (int j = 0; j < 6; j++)
        {
            GatherLanes(Widen(du, duStride, j), Widen(du, duStride, 6 + j), Widen(du, duStride, 12 + j), Widen(du, duStride, 18 + j),
                Widen(du, duStride, 24 + j), Widen(du, duStride, 30 + j), out t[j], out t[6 + j], out t[12 + j]);
        }
        for (int i = 0; i < 3; i++)
        {
            GatherLanes(t[6 * i], t[6 * i + 1], t[6 * i + 2], t[6 * i + 3], t[6 * i + 4], t[6 * i + 5], out var a, out var b, out var c);
            WinogradWeightGradient.AddLanes(Avx512F.ConvertToVector256Single(a), dk, 9, 3 * i);
            WinogradWeightGradient.AddLanes(Avx512F.ConvertToVector256Single(b), dk, 9, 3 * i + 1);
            WinogradWeightGradient.AddLanes(Avx512F.ConvertToVector256Single(c), dk, 9, 3 * i + 2);
        }

        static Vector512<double> Widen(float* du, long stride, int xi) => Avx512F.ConvertToVector512Double(Vector256.Load(du + xi * stride));
    }

    // KernelGradient's Gather, a lane each: Gᵀ times (v0 … v5).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GatherLanes(Vector512<double> v0, Vector512<double> v1, Vector512<double> v2, Vector512<double> v3,
        Vector512<double> v4, Vector512<double> v5, out Vector512<double> a, out Vector512<double> b, out Vector512<double> c)
    {
        var (quarter, sixth) = (Vector512.Create(Quarter), Vector512.Create(Sixth));
        a = v0 * quarter - (v1 + v2) * sixth + (v3 + v4) * Vector512.Create(TwentyFourth);
        b = (v2 - v1) * sixth + (v3 - v4) * Vector512.Create(Twelfth);
        c = (v3 + v4 - v1 - v2) * sixth + v5;
    }

    /// <summary>Whether <see cref="TransformKernels"/> runs here (AVX-512).</summary>
    internal static bool TransformsKernelsInLanes => Avx512F.IsSupported;

    // As the scalar Fourth: a/24 ± b/12 + c/6, summed left to right.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Fourth(Vector512<double> a, Vector512<double> b, Vector512<double> c, double sign) =>
        a * Vector512.Create(TwentyFourth) + Vector512.Create(sign) * b * Vector512.Create(Twelfth) + c * Vector512.Create(Sixth);

    // One row of G·k times Gᵀ: six positions, each eight kernels' values rounded to float side by side.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row(Vector512<double> a, Vector512<double> b, Vector512<double> c, float* row)
    {
        Avx512F.ConvertToVector256Single(a * Vector512.Create(Quarter)).Store(row);
        Avx512F.ConvertToVector256Single((a + b + c) * Vector512.Create(-Sixth)).Store(row + 8);
        Avx512F.ConvertToVector256Single((a - b + c) * Vector512.Create(-Sixth)).Store(row + 16);
        Avx512F.ConvertToVector256Single(Fourth(a, b, c, 1)).Store(row + 24);
        Avx512F.ConvertToVector256Single(Fourth(a, b, c, -1)).Store(row + 32);
        Avx512F.ConvertToVector256Single(c).Store(row + 40);
    }
}
