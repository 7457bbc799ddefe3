using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

// Legend: op(A) is M x K, op(B) is K x N. A block of op(A) (rows i0.., k0..) is packed into MR-row
// panels, panel-major: panel q holds rows i0 + q·MR .. as dst[q·MR·kc + p·MR + r]. A block of op(B)
// is packed into NR-column panels: dst[q·NR·kc + p·NR + j]. Rows/columns past the edge are zero, so
// the micro-kernel always runs a full tile. Transposed operands are read in place while packing.

public static unsafe partial class Gemm
{
    private static void PackA(float* a, int lda, bool transA, int i0, int rows, int k0, int kc, int mr, float* dst)
    {
        for (int ir = 0; ir < rows; ir += mr, dst += mr * kc)
        {
            int valid = Math.Min(mr, rows - ir);
            if (!transA)
            {
                // op(A)[i, p] = a[i·lda + p]: read each row contiguously, write with stride mr.
                for (int r = 0; r < valid; r++)
                {
                    float* src = a + (long)(i0 + ir + r) * lda + k0;
                    float* d = dst + r;
                    for (int p = 0; p < kc; p++) d[p * mr] = src[p];
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

    private static void PackB(float* b, int ldb, bool transB, int j0, int cols, int k0, int kc, int nr, float* dst)
    {
        for (int jr = 0; jr < cols; jr += nr, dst += nr * kc)
        {
            int valid = Math.Min(nr, cols - jr);
            if (!transB)
            {
                // op(B)[p, j] = b[p·ldb + j]: each k step copies a contiguous run of columns.
                for (int p = 0; p < kc; p++)
                {
                    float* src = b + (long)(k0 + p) * ldb + j0 + jr;
                    float* d = dst + p * nr;
                    if (valid == nr) CopyRun(src, d, nr);
                    else
                    {
                        for (int j = 0; j < valid; j++) d[j] = src[j];
                        for (int j = valid; j < nr; j++) d[j] = 0f;
                    }
                }
            }
            else
            {
                // op(B)[p, j] = b[j·ldb + p]: read each row of b contiguously, write with stride nr.
                for (int j = 0; j < valid; j++)
                {
                    float* src = b + (long)(j0 + jr + j) * ldb + k0;
                    float* d = dst + j;
                    for (int p = 0; p < kc; p++) d[p * nr] = src[p];
                }
                for (int j = valid; j < nr; j++)
                    for (int p = 0; p < kc; p++) dst[p * nr + j] = 0f;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRun(float* src, float* dst, int count)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= count; i += 16) Vector512.Store(Vector512.Load(src + i), dst + i);
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= count; i += 8) Vector256.Store(Vector256.Load(src + i), dst + i);
        for (; i < count; i++) dst[i] = src[i];
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
            if (array is null || array.Length < floats + 16)
                array = GC.AllocateUninitializedArray<float>((int)floats + 16, pinned: true);
            nint p = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
            return (float*)((p + 63) & ~(nint)63);
        }
    }

    [ThreadStatic] private static PackBuffers? t_buffers;
}
