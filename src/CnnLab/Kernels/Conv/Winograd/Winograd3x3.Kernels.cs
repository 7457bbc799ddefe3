using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

internal static unsafe partial class Winograd3x3
{
    /// <summary>
    /// <see cref="TransformKernel"/> for eight kernels at once, <paramref name="kernelStride"/> floats apart, one per lane:
    /// u[ξ·8 + r] for kernel r, the layout of a block of <see cref="WinogradWeights"/>. The same operations in the same order
    /// on each lane, so the same bits (as <see cref="Winograd4x4.TransformKernels"/>).
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
        var half = Vector256.Create(0.5f);
        Row(k00, k01, k02, u);
        Row(half * (k00 + k10 + k20), half * (k01 + k11 + k21), half * (k02 + k12 + k22), u + 4 * 8);
        Row(half * (k00 - k10 + k20), half * (k01 - k11 + k21), half * (k02 - k12 + k22), u + 8 * 8);
        Row(k20, k21, k22, u + 12 * 8);

        static void Row(Vector256<float> a, Vector256<float> b, Vector256<float> c, float* row)
        {
            var half = Vector256.Create(0.5f);
            a.Store(row);
            (half * (a + b + c)).Store(row + 8);
            (half * (a - b + c)).Store(row + 16);
            c.Store(row + 24);
        }
    }

    // Tap t of the eight kernels.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Tap(float* k, long stride, int t) => Vector256.Create(k[t], k[stride + t], k[2 * stride + t],
        k[3 * stride + t], k[4 * stride + t], k[5 * stride + t], k[6 * stride + t], k[7 * stride + t]);
}
