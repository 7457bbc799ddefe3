using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend: a plane's rows W floats apart; a 2x2 window's taps in scan order a (top left), b (top right),
// c (bottom left), d (bottom right).

/// <summary>
/// The four taps of 16 2x2 windows at once (AVX-512), deinterleaved by permutes from two 32-float runs: window
/// k's top-left tap lies at top + taps[k] (within the first 32 floats), its top-right one float further, its
/// bottom ones W further. Top-left taps at 2k (<see cref="Evens"/>) are 16 neighbouring windows of one row
/// pair; the max pool's two-row vectors place them across two row pairs. The max and average pools' 2x2 paths
/// load their windows here.
/// </summary>
internal static unsafe class Windows2x2
{
    /// <summary>0, 2, 4, …, 30: 16 neighbouring windows' top-left taps.</summary>
    public static Vector512<int> Evens => Vector512<int>.Indices * 2;

    /// <summary>
    /// The taps a, b, c, d of the 16 windows; with <paramref name="affine"/>, each input as
    /// max(0, x·scale + shift) (<see cref="BatchNormPlanes.ScaleShiftRelu(Vector512{float}, Vector512{float}, Vector512{float})"/>)
    /// as it is loaded. Reads 16 floats at top and at top + <paramref name="second"/>, and the same W further: taps 0 to 15
    /// index the first run, 16 to 31 the second (by default the 16 floats after the first, one 32-float run).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Taps(float* top, int w, Vector512<int> taps, bool affine, Vector512<float> scale, Vector512<float> shift,
        out Vector512<float> a, out Vector512<float> b, out Vector512<float> c, out Vector512<float> d, int second = 16)
    {
        var t0 = Vector512.Load(top);
        var t1 = Vector512.Load(top + second);
        var b0 = Vector512.Load(top + w);
        var b1 = Vector512.Load(top + w + second);
        if (affine)
        {
            t0 = BatchNormPlanes.ScaleShiftRelu(t0, scale, shift);
            t1 = BatchNormPlanes.ScaleShiftRelu(t1, scale, shift);
            b0 = BatchNormPlanes.ScaleShiftRelu(b0, scale, shift);
            b1 = BatchNormPlanes.ScaleShiftRelu(b1, scale, shift);
        }
        var right = taps + Vector512<int>.One;
        a = Avx512F.PermuteVar16x32x2(t0, taps, t1);
        b = Avx512F.PermuteVar16x32x2(t0, right, t1);
        c = Avx512F.PermuteVar16x32x2(b0, taps, b1);
        d = Avx512F.PermuteVar16x32x2(b0, right, b1);
    }
}
