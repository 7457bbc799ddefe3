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
        KernelTaps(k, kernelStride, turned, out var k00, out var k01, out var k02, out var k10, out var k11, out var k12, out var k20,
            out var k21, out var k22);
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

    /// <summary>
    /// The nine taps of eight 3x3 kernels <paramref name="stride"/> floats apart, tap by tap with a kernel a lane (kij: row i,
    /// column j), each kernel turned 180° first with <paramref name="turned"/>, as the scalar transforms read them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void KernelTaps(float* k, long stride, bool turned, out Vector256<float> k00, out Vector256<float> k01,
        out Vector256<float> k02, out Vector256<float> k10, out Vector256<float> k11, out Vector256<float> k12, out Vector256<float> k20,
        out Vector256<float> k21, out Vector256<float> k22)
    {
        (k00, k01, k02) = (Tap(k, stride, 0), Tap(k, stride, 1), Tap(k, stride, 2));
        (k10, k11, k12) = (Tap(k, stride, 3), Tap(k, stride, 4), Tap(k, stride, 5));
        (k20, k21, k22) = (Tap(k, stride, 6), Tap(k, stride, 7), Tap(k, stride, 8));
        if (turned)
            (k00, k01, k02, k10, k12, k20, k21, k22) = (k22, k21, k20, k12, k10, k02, k01, k00);
    }

    // Tap t of the eight kernels.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Tap(float* k, long stride, int t) => Vector256.Create(k[t], k[stride + t], k[2 * stride + t],
        k[3 * stride + t], k[4 * stride + t], k[5 * stride + t], k[6 * stride + t], k[7 * stride + t]);
}
