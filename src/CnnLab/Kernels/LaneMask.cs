using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

/// <summary>Masks for the partial last vector of a row, for AVX-512's masked loads and stores and AVX's <c>vmaskmovps</c>.</summary>
internal static class LaneMask
{
    /// <summary>All ones in lanes 0 … <paramref name="count"/> − 1, zero in the rest.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> First(int count) => Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(count));

    /// <summary>The 8-lane form (any count: at most 8 lanes set, none for count ≤ 0), as floats for <c>Avx.MaskLoad</c>/<c>MaskStore</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> First256(int count) => Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(count)).AsSingle();
}
