using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

// Legend: MR x NR is the register tile of C; kc the length of the packed panels (the k block).
// The kernels below are unrolled by hand (one line per row of the tile) so that the JIT keeps every
// accumulator in a register: 12 accumulators + 2 B vectors + 1 broadcast of the 16 ymm registers.

public static unsafe partial class Gemm
{
    // Tile C[6 x 16] = alpha·(A panel)(B panel) + beta·C, then the epilogue; a is a packed 6-row panel (a[p·6 + r]),
    // b a 16-column panel whose rows are tail->BStride floats apart (b[p·BStride + j]).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel6x16(int kc, float* a, float* b, float* c, nint ldc, Tail* tail)
    {
        nint bs = tail->BStride;
        Vector256<float> c00 = default; Vector256<float> c01 = default;
        Vector256<float> c10 = default; Vector256<float> c11 = default;
        Vector256<float> c20 = default; Vector256<float> c21 = default;
        Vector256<float> c30 = default; Vector256<float> c31 = default;
        Vector256<float> c40 = default; Vector256<float> c41 = default;
        Vector256<float> c50 = default; Vector256<float> c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b + 0); var b1 = Vector256.Load(b + 8);
            var x = Vector256.Create(a[0]); c00 = Vector256.FusedMultiplyAdd(x, b0, c00); c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
            x = Vector256.Create(a[1]); c10 = Vector256.FusedMultiplyAdd(x, b0, c10); c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
            x = Vector256.Create(a[2]); c20 = Vector256.FusedMultiplyAdd(x, b0, c20); c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
            x = Vector256.Create(a[3]); c30 = Vector256.FusedMultiplyAdd(x, b0, c30); c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
            x = Vector256.Create(a[4]); c40 = Vector256.FusedMultiplyAdd(x, b0, c40); c41 = Vector256.FusedMultiplyAdd(x, b1, c41);
            x = Vector256.Create(a[5]); c50 = Vector256.FusedMultiplyAdd(x, b0, c50); c51 = Vector256.FusedMultiplyAdd(x, b1, c51);
            a += 6; b += bs;
        }
        StoreRow16(c + 0 * ldc, 0, c00, c01, tail);
        StoreRow16(c + 1 * ldc, 1, c10, c11, tail);
        StoreRow16(c + 2 * ldc, 2, c20, c21, tail);
        StoreRow16(c + 3 * ldc, 3, c30, c31, tail);
        StoreRow16(c + 4 * ldc, 4, c40, c41, tail);
        StoreRow16(c + 5 * ldc, 5, c50, c51, tail);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow16(float* c, int row, Vector256<float> v0, Vector256<float> v1, Tail* tail)
    {
        Store(c + 0, v0, row, 0, tail);
        Store(c + 8, v1, row, 8, tail);
    }

    // Writes one vector of the tile: C = alpha·acc + beta·C (+ bias) (then ReLU), beta = 0 never reads C.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector256<float> acc, int row, int col, Tail* tail)
    {
        var v = acc * tail->Alpha;
        if (tail->Beta != 0f) v = Vector256.FusedMultiplyAdd(Vector256.Load(c), Vector256.Create(tail->Beta), v);
        if (tail->RowBias != null) v += Vector256.Create(tail->RowBias[row]);
        if (tail->ColBias != null) v += Vector256.Load(tail->ColBias + col);
        if (tail->Relu) v = Vector256.Max(v, Vector256<float>.Zero);
        v.Store(c);
    }
}
