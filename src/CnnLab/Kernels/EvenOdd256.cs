using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

/// <summary>16 consecutive floats in two 256-bit vectors split into their even and odd elements (AVX2).</summary>
internal static class EvenOdd256
{
    /// <summary>evens = (lo0, lo2, lo4, lo6, hi0, hi2, hi4, hi6), odds likewise from elements 1, 3, 5, 7.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Split(Vector256<float> lo, Vector256<float> hi, out Vector256<float> evens, out Vector256<float> odds)
    {
        // Shuffle takes lanes (0, 2) or (1, 3) of each 128-bit half of lo, then of hi; Permute4x64 puts the halves in order.
        evens = Avx2.Permute4x64(Avx.Shuffle(lo, hi, 0b10_00_10_00).AsDouble(), 0b11_01_10_00).AsSingle();
        odds = Avx2.Permute4x64(Avx.Shuffle(lo, hi, 0b11_01_11_01).AsDouble(), 0b11_01_10_00).AsSingle();
    }
}
