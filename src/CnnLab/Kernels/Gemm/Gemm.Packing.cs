using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend: op(A) is M x K, op(B) is K x N. A block of op(A) (rows i0.., k0..) is packed into MR-row
// panels, panel-major: panel q holds rows i0 + q·MR .. as dst[q·MR·kc + p·MR + r]. A block of op(B)
// is packed into NR-column panels: dst[q·NR·kc + p·NR + j]. Rows/columns past the edge are zero, so
// the micro-kernel always runs a full tile. Transposed operands are read in place while packing.

public static unsafe partial class Gemm
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackA(float* a, int lda, bool transA, int i0, int rows, int k0, int kc, int mr, float* dst)
    {
        for (int ir = 0; ir < rows; ir += mr, dst += mr * kc)
        {
            int valid = Math.Min(mr, rows - ir);
            if (!transA)
            {
                // op(A)[i, p] = a[i·lda + p]: 8 x 8 blocks transposed in registers, the rest one by one.
                float* rows0 = a + (long)(i0 + ir) * lda + k0;
                int p0 = 0;
                if (Avx.IsSupported && valid == mr && mr >= 6 && mr <= 8)
                    for (; p0 + 8 <= kc; p0 += 8) Transpose8x8(rows0 + p0, lda, mr, dst + p0 * mr, mr);
                for (int r = 0; r < valid; r++)
                {
                    float* src = rows0 + (long)r * lda;
                    float* d = dst + r;
                    for (int p = p0; p < kc; p++) d[p * mr] = src[p];
                }
            }
            else
            {
                // op(A)[i, p] = a[p·lda + i]: each k step is a contiguous run of rows.
                for (int p = 0; p < kc; p++)
                {
                    float* src = a + (long)(k0 + p) * lda + i0 + ir;
                    float* d = dst + p * mr;
                    for (int r = 0; r < valid; r++) d[r] = src[r];
                }
            }
            for (int r = valid; r < mr; r++)
                for (int p = 0; p < kc; p++) dst[p * mr + r] = 0f;
        }
    }

    // The last panel is packed kernel.PanelWidth(valid) wide (≤ NR) when a narrower kernel will run it.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackB(float* b, int ldb, bool transB, int j0, int cols, int k0, int kc, in MicroKernel kernel, float* dst)
    {
        int nr = kernel.NR;
        if (!transB)
        {
            // op(B)[p, j] = b[p·ldb + j]: walk each row of the block once, left to right, dealing its
            // runs out to the panels; rows ahead are prefetched, since this block often comes from DRAM.
            const int Ahead = 4;
            for (int p = 0; p < kc; p++)
            {
                float* src = b + (long)(k0 + p) * ldb + j0;
                if (Sse.IsSupported && p + Ahead < kc)
                    for (int x = 0; x < cols; x += 16) Sse.Prefetch0(src + (long)Ahead * ldb + x);
                for (int jr = 0; jr < cols; jr += nr)
                {
                    int valid = Math.Min(nr, cols - jr), width = kernel.PanelWidth(valid);
                    float* d = dst + (long)jr * kc + p * width;
                    if (valid == width) RowCopy.Copy(src + jr, d, width);
                    else
                    {
                        for (int j = 0; j < valid; j++) d[j] = src[jr + j];
                        for (int j = valid; j < width; j++) d[j] = 0f;
                    }
                }
            }
            return;
        }
        for (int jr = 0; jr < cols; jr += nr, dst += nr * kc)
        {
            int valid = Math.Min(nr, cols - jr), width = kernel.PanelWidth(valid);
            // op(B)[p, j] = b[j·ldb + p]: 8 x 8 blocks transposed in registers, the rest one by one.
            float* cols0 = b + (long)(j0 + jr) * ldb + k0;
            int full = Avx.IsSupported ? valid & ~7 : 0, p0 = kc & ~7;
            for (int j = 0; j < full; j += 8)
                for (int p = 0; p < p0; p += 8) Transpose8x8(cols0 + (long)j * ldb + p, ldb, 8, dst + p * width + j, width);
            for (int j = 0; j < valid; j++)
            {
                float* src = cols0 + (long)j * ldb;
                float* d = dst + j;
                for (int p = j < full ? p0 : 0; p < kc; p++) d[p * width] = src[p];
            }
            for (int j = valid; j < width; j++)
                for (int p = 0; p < kc; p++) dst[p * width + j] = 0f;
        }
    }

    // dst[q·dstStride + r] = src[r·ld + q] for r < rows (rows 6..8; missing rows repeat the last one)
    // and q < 8. Each of the 8 stores writes 8 floats, so with rows < 8 a store runs into the next
    // one's place, which that next store (or the caller's remainder loop) then overwrites.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* src, int ld, int rows, float* dst, int dstStride)
    {
        var r0 = Vector256.Load(src);
        var r1 = Vector256.Load(src + ld);
        var r2 = Vector256.Load(src + 2L * ld);
        var r3 = Vector256.Load(src + 3L * ld);
        var r4 = Vector256.Load(src + 4L * ld);
        var r5 = Vector256.Load(src + 5L * ld);
        var r6 = rows > 6 ? Vector256.Load(src + 6L * ld) : r5;
        var r7 = rows > 7 ? Vector256.Load(src + 7L * ld) : r6;
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var s0 = Avx.Shuffle(t0, t2, 0x44); var s1 = Avx.Shuffle(t0, t2, 0xEE);
        var s2 = Avx.Shuffle(t1, t3, 0x44); var s3 = Avx.Shuffle(t1, t3, 0xEE);
        var s4 = Avx.Shuffle(t4, t6, 0x44); var s5 = Avx.Shuffle(t4, t6, 0xEE);
        var s6 = Avx.Shuffle(t5, t7, 0x44); var s7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Permute2x128(s0, s4, 0x20).Store(dst);
        Avx.Permute2x128(s1, s5, 0x20).Store(dst + dstStride);
        Avx.Permute2x128(s2, s6, 0x20).Store(dst + 2 * dstStride);
        Avx.Permute2x128(s3, s7, 0x20).Store(dst + 3 * dstStride);
        Avx.Permute2x128(s0, s4, 0x31).Store(dst + 4 * dstStride);
        Avx.Permute2x128(s1, s5, 0x31).Store(dst + 5 * dstStride);
        Avx.Permute2x128(s2, s6, 0x31).Store(dst + 6 * dstStride);
        Avx.Permute2x128(s3, s7, 0x31).Store(dst + 7 * dstStride);
    }

    // Per-thread packing buffers on the pinned object heap: allocated once per thread at the
    // largest size seen, touched by the first packing and reused, so a call allocates nothing.
    private sealed class PackBuffers
    {
        private float[]? _a, _b;

        public float* A(long floats) => Get(ref _a, floats);

        public float* B(long floats) => Get(ref _b, floats);

        private static float* Get(ref float[]? array, long floats)
        {
            if (array is null || array.Length < floats + 32)
                array = GC.AllocateUninitializedArray<float>((int)floats + 32, pinned: true);
            nint p = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
            return CacheLines.LineStart((float*)p);
        }
    }

    [ThreadStatic] private static PackBuffers? t_buffers;
}
