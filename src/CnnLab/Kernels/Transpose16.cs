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
        // Locals, not a stackalloc'd array: the JIT keeps them in the 32 vector registers, where an array went through the stack.
        Vector512<float> r0 = Vector512.Load(src), r1 = Vector512.Load(src + srcStride), r2 = Vector512.Load(src + 2 * srcStride);
        Vector512<float> r3 = Vector512.Load(src + 3 * srcStride), r4 = Vector512.Load(src + 4 * srcStride);
        Vector512<float> r5 = Vector512.Load(src + 5 * srcStride), r6 = Vector512.Load(src + 6 * srcStride);
        Vector512<float> r7 = Vector512.Load(src + 7 * srcStride), r8 = Vector512.Load(src + 8 * srcStride);
        Vector512<float> r9 = Vector512.Load(src + 9 * srcStride), r10 = Vector512.Load(src + 10 * srcStride);
        Vector512<float> r11 = Vector512.Load(src + 11 * srcStride), r12 = Vector512.Load(src + 12 * srcStride);
        Vector512<float> r13 = Vector512.Load(src + 13 * srcStride), r14 = Vector512.Load(src + 14 * srcStride);
        Vector512<float> r15 = Vector512.Load(src + 15 * srcStride);
        // Pairs of rows interleaved by 32-bit values, then by 64-bit pairs: each 128-bit lane then holds a 4 x 4 block.
        Quad(r0, r1, r2, r3, out var q0, out var q1, out var q2, out var q3);
        Quad(r4, r5, r6, r7, out var q4, out var q5, out var q6, out var q7);
        Quad(r8, r9, r10, r11, out var q8, out var q9, out var q10, out var q11);
        Quad(r12, r13, r14, r15, out var q12, out var q13, out var q14, out var q15);
        // 128-bit lanes gathered across groups of four rows, then of eight.
        Lanes(q0, q4, q8, q12, dst, dstStride);
        Lanes(q1, q5, q9, q13, dst + dstStride, dstStride);
        Lanes(q2, q6, q10, q14, dst + 2 * dstStride, dstStride);
        Lanes(q3, q7, q11, q15, dst + 3 * dstStride, dstStride);
    }

    // Four rows turned into four vectors whose 128-bit lane L holds the 4 x 4 block of columns 4L … 4L + 3: qj holds column 4L + j.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Quad(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d,
        out Vector512<float> q0, out Vector512<float> q1, out Vector512<float> q2, out Vector512<float> q3)
    {
        Vector512<float> t0 = Avx512F.UnpackLow(a, b), t1 = Avx512F.UnpackHigh(a, b), t2 = Avx512F.UnpackLow(c, d), t3 = Avx512F.UnpackHigh(c, d);
        q0 = Avx512F.UnpackLow(t0.AsDouble(), t2.AsDouble()).AsSingle();
        q1 = Avx512F.UnpackHigh(t0.AsDouble(), t2.AsDouble()).AsSingle();
        q2 = Avx512F.UnpackLow(t1.AsDouble(), t3.AsDouble()).AsSingle();
        q3 = Avx512F.UnpackHigh(t1.AsDouble(), t3.AsDouble()).AsSingle();
    }

    // The q_j of the four groups of rows (a: rows 0-3, … d: rows 12-15): their lanes L hold columns 4L + j, stored as output rows
    // j, j + 4, j + 8 and j + 12 (dst is row j).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Lanes(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d, float* dst, long stride)
    {
        Vector512<float> ab0 = Avx512F.Shuffle4x128(a, b, 0x88), ab1 = Avx512F.Shuffle4x128(a, b, 0xdd);
        Vector512<float> cd0 = Avx512F.Shuffle4x128(c, d, 0x88), cd1 = Avx512F.Shuffle4x128(c, d, 0xdd);
        Vector512.Store(Avx512F.Shuffle4x128(ab0, cd0, 0x88), dst);
        Vector512.Store(Avx512F.Shuffle4x128(ab1, cd1, 0x88), dst + 4 * stride);
        Vector512.Store(Avx512F.Shuffle4x128(ab0, cd0, 0xdd), dst + 8 * stride);
        Vector512.Store(Avx512F.Shuffle4x128(ab1, cd1, 0xdd), dst + 12 * stride);
    }
}
