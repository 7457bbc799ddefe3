using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

/// <summary>
/// 16 x 16 blocks of 32-bit values transposed in registers (AVX-512): dst[c, r] = src[r, c]. Four rounds of unpacks and
/// 128-bit lane shuffles, 64 instructions for 256 values, instead of 256 scalar loads and stores to 16 cache lines.
/// </summary>
internal static class Transpose16
{
    /// <summary>True where <see cref="Block"/> can run.</summary>
    public static bool IsSupported => Avx512F.IsSupported;

    /// <summary>
    /// Transposes the block of 16 rows at <paramref name="src"/> (rows <paramref name="srcStride"/> values apart) into 16
    /// rows at <paramref name="dst"/> (<paramref name="dstStride"/> apart). Values are moved, never computed on: floats and
    /// ints alike keep their bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Block(float* src, long srcStride, float* dst, long dstStride)
    {
        var r = stackalloc Vector512<float>[16];
        for (int i = 0; i < 16; i++) r[i] = Vector512.Load(src + i * srcStride);
        // Pairs of rows interleaved by 32-bit values, then by 64-bit pairs: each 128-bit lane then holds a 4 x 4 block.
        var t = stackalloc Vector512<float>[16];
        for (int i = 0; i < 16; i += 2)
        {
            t[i] = Avx512F.UnpackLow(r[i], r[i + 1]);
            t[i + 1] = Avx512F.UnpackHigh(r[i], r[i + 1]);
        }
        for (int i = 0; i < 16; i += 4)
        {
            r[i] = Avx512F.UnpackLow(t[i].AsDouble(), t[i + 2].AsDouble()).AsSingle();
            r[i + 1] = Avx512F.UnpackHigh(t[i].AsDouble(), t[i + 2].AsDouble()).AsSingle();
            r[i + 2] = Avx512F.UnpackLow(t[i + 1].AsDouble(), t[i + 3].AsDouble()).AsSingle();
            r[i + 3] = Avx512F.UnpackHigh(t[i + 1].AsDouble(), t[i + 3].AsDouble()).AsSingle();
        }
        // 128-bit lanes gathered across groups of four rows, then of eight.
        for (int i = 0; i < 4; i++)
        {
            t[i] = Avx512F.Shuffle4x128(r[i], r[i + 4], 0x88);
            t[i + 4] = Avx512F.Shuffle4x128(r[i], r[i + 4], 0xdd);
            t[i + 8] = Avx512F.Shuffle4x128(r[i + 8], r[i + 12], 0x88);
            t[i + 12] = Avx512F.Shuffle4x128(r[i + 8], r[i + 12], 0xdd);
        }
        for (int i = 0; i < 8; i++)
        {
            Vector512.Store(Avx512F.Shuffle4x128(t[i], t[i + 8], 0x88), dst + i * dstStride);
            Vector512.Store(Avx512F.Shuffle4x128(t[i], t[i + 8], 0xdd), dst + (i + 8) * dstStride);
        }
    }
}
