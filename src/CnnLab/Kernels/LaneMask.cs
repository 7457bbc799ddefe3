using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

/// <summary>Masks for the partial last vector of a row, for AVX-512 masked loads and stores.</summary>
internal static class LaneMask
{
    /// <summary>All ones in lanes 0 … <paramref name="count"/> − 1, zero in the rest.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> First(int count) => Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(count));
}
