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
        var k00 = Tap(k, kernelStride, 0);
        var k01 = Tap(k, kernelStride, 1);
        var k02 = Tap(k, kernelStride, 2);
        var k10 = Tap(k, kernelStride, 3);
        var k11 = Tap(k, kernelStride, 4);
        var k12 = Tap(k, kernelStride, 5);
        var k20 = Tap(k, kernelStride, 6);
        var k21 = Tap(k, kernelStride, 7);
        var k22 = Tap(k, kernelStride, 8);
        if (turned)
            (k00, k01, k02, k10, k12, k20, k21, k22) = (k22, k21, k20, k12, k10, k02, k01, k00);
        var quarter = Vector512.Create(Quarter);
        var minusSixth = Vector512.Create(-Sixth);
        Row(k00 * quarter, k01 * quarter, k02 * quarter, u);
        Row((k00 + k10 + k20) * minusSixth, (k01 + k11 + k21) * minusSixth, (k02 + k12 + k22) * minusSixth, u + 6 * 8);
        Row((k00 - k10 + k20) * minusSixth, (k01 - k11 + k21) * minusSixth, (k02 - k12 + k22) * minusSixth, u + 12 * 8);
        Row(Fourth(k00, k10, k20, 1), Fourth(k01, k11, k21, 1), Fourth(k02, k12, k22, 1), u + 18 * 8);
        Row(Fourth(k00, k10, k20, -1), Fourth(k01, k11, k21, -1), Fourth(k02, k12, k22, -1), u + 24 * 8);
        Row(k20, k21, k22, u + 30 * 8);
    }

    /// <summary>Whether <see cref="TransformKernels"/> runs here (AVX-512).</summary>
    internal static bool TransformsKernelsInLanes => Avx512F.IsSupported;

    // Tap t of the eight kernels, widened to double.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Tap(float* k, long stride, int t) => Vector512.Create(k[t], k[stride + t], k[2 * stride + t],
        k[3 * stride + t], k[4 * stride + t], k[5 * stride + t], k[6 * stride + t], k[7 * stride + t]);

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
