using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

internal static unsafe partial class Winograd5x5
{
    /// <summary>Whether <see cref="TransformKernels"/> and <see cref="KernelGradients"/> run here (AVX-512).</summary>
    internal static bool TransformsKernelsInLanes => Avx512F.IsSupported;

    /// <summary>
    /// <see cref="TransformKernel"/> for eight 5x5 kernels at once, <paramref name="kernelStride"/> floats apart, one per lane
    /// of doubles: u[ξ·8 + r] for kernel r (a block of <see cref="WinogradWeights"/>). The same products and sums in the same
    /// order on each lane, so the same bits; the weights are prepared on every training step.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void TransformKernels(float* k, long kernelStride, bool turned, float* u)
    {
        var g = s_g;
        Vector512<double>* taps = stackalloc Vector512<double>[25];
        for (int t = 0; t < 25; t++)
        {
            int from = turned ? 24 - t : t;
            taps[t] = Avx512F.ConvertToVector512Double(Vector256.Create(k[from], k[kernelStride + from], k[2 * kernelStride + from],
                k[3 * kernelStride + from], k[4 * kernelStride + from], k[5 * kernelStride + from], k[6 * kernelStride + from],
                k[7 * kernelStride + from]));
        }
        Vector512<double>* gk = stackalloc Vector512<double>[30];   // G·k [6, 5]
        for (int i = 0; i < 6; i++)
            for (int c = 0; c < 5; c++)
            {
                var sum = Vector512<double>.Zero;
                for (int a = 0; a < 5; a++) sum += Vector512.Create(g[5 * i + a]) * taps[5 * a + c];
                gk[5 * i + c] = sum;
            }
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++)
            {
                var sum = Vector512<double>.Zero;
                for (int c = 0; c < 5; c++) sum += gk[5 * i + c] * Vector512.Create(g[5 * j + c]);
                Avx512F.ConvertToVector256Single(sum).Store(u + (6 * i + j) * 8);
            }
    }

    /// <summary>
    /// <see cref="KernelGradient"/> for eight (o, c) at once: lane l's dU at du[ξ·<paramref name="duStride"/> + l], its kernel
    /// gradient dk at dk + l·25 (+=). The same products and sums in the same order on each lane, so the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void KernelGradients(float* du, long duStride, float* dk)
    {
        var g = s_g;
        Vector512<double>* d = stackalloc Vector512<double>[36];
        for (int xi = 0; xi < 36; xi++) d[xi] = Avx512F.ConvertToVector512Double(Vector256.Load(du + xi * duStride));
        Vector512<double>* t = stackalloc Vector512<double>[30];   // Gᵀ·dU [5, 6]
        for (int a = 0; a < 5; a++)
            for (int j = 0; j < 6; j++)
            {
                var sum = Vector512<double>.Zero;
                for (int i = 0; i < 6; i++) sum += Vector512.Create(g[5 * i + a]) * d[6 * i + j];
                t[6 * a + j] = sum;
            }
        for (int a = 0; a < 5; a++)
            for (int c = 0; c < 5; c++)
            {
                var sum = Vector512<double>.Zero;
                for (int j = 0; j < 6; j++) sum += t[6 * a + j] * Vector512.Create(g[5 * j + c]);
                WinogradWeightGradient.AddLanes(Avx512F.ConvertToVector256Single(sum), dk, 25, 5 * a + c);
            }
    }
}
