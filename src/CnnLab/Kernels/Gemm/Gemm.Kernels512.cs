using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

// Legend: MR x NR is the register tile of C; kc the length of the packed panels (the k block).
// The kernels below are unrolled by hand (a row of the tile at a time) so that the JIT keeps every
// accumulator in a register: 24 accumulators + 4 (or 3) B vectors + 1 broadcast of the 32 zmm registers.

public static unsafe partial class Gemm
{
    // Tile C[6 x 64] = alpha·(A panel)(B panel) + beta·C, then the epilogue; a is a packed 6-row panel (a[p·6 + r]),
    // b a 64-column panel whose rows are tail->BStride floats apart (b[p·BStride + j]).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel6x64(int kc, float* a, float* b, float* c, nint ldc, Tail* tail)
    {
        nint bs = tail->BStride;
        Vector512<float> c00 = default; Vector512<float> c01 = default; Vector512<float> c02 = default; Vector512<float> c03 = default;
        Vector512<float> c10 = default; Vector512<float> c11 = default; Vector512<float> c12 = default; Vector512<float> c13 = default;
        Vector512<float> c20 = default; Vector512<float> c21 = default; Vector512<float> c22 = default; Vector512<float> c23 = default;
        Vector512<float> c30 = default; Vector512<float> c31 = default; Vector512<float> c32 = default; Vector512<float> c33 = default;
        Vector512<float> c40 = default; Vector512<float> c41 = default; Vector512<float> c42 = default; Vector512<float> c43 = default;
        Vector512<float> c50 = default; Vector512<float> c51 = default; Vector512<float> c52 = default; Vector512<float> c53 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b + 0); var b1 = Vector512.Load(b + 16); var b2 = Vector512.Load(b + 32); var b3 = Vector512.Load(b + 48);
            var x = Vector512.Create(a[0]); c00 = Vector512.FusedMultiplyAdd(x, b0, c00); c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            c02 = Vector512.FusedMultiplyAdd(x, b2, c02); c03 = Vector512.FusedMultiplyAdd(x, b3, c03);
            x = Vector512.Create(a[1]); c10 = Vector512.FusedMultiplyAdd(x, b0, c10); c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            c12 = Vector512.FusedMultiplyAdd(x, b2, c12); c13 = Vector512.FusedMultiplyAdd(x, b3, c13);
            x = Vector512.Create(a[2]); c20 = Vector512.FusedMultiplyAdd(x, b0, c20); c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            c22 = Vector512.FusedMultiplyAdd(x, b2, c22); c23 = Vector512.FusedMultiplyAdd(x, b3, c23);
            x = Vector512.Create(a[3]); c30 = Vector512.FusedMultiplyAdd(x, b0, c30); c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
            c32 = Vector512.FusedMultiplyAdd(x, b2, c32); c33 = Vector512.FusedMultiplyAdd(x, b3, c33);
            x = Vector512.Create(a[4]); c40 = Vector512.FusedMultiplyAdd(x, b0, c40); c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
            c42 = Vector512.FusedMultiplyAdd(x, b2, c42); c43 = Vector512.FusedMultiplyAdd(x, b3, c43);
            x = Vector512.Create(a[5]); c50 = Vector512.FusedMultiplyAdd(x, b0, c50); c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
            c52 = Vector512.FusedMultiplyAdd(x, b2, c52); c53 = Vector512.FusedMultiplyAdd(x, b3, c53);
            a += 6; b += bs;
        }
        StoreRow64(c + 0 * ldc, 0, c00, c01, c02, c03, tail);
        StoreRow64(c + 1 * ldc, 1, c10, c11, c12, c13, tail);
        StoreRow64(c + 2 * ldc, 2, c20, c21, c22, c23, tail);
        StoreRow64(c + 3 * ldc, 3, c30, c31, c32, c33, tail);
        StoreRow64(c + 4 * ldc, 4, c40, c41, c42, c43, tail);
        StoreRow64(c + 5 * ldc, 5, c50, c51, c52, c53, tail);
    }

    // Tile C[8 x 48] = alpha·(A panel)(B panel) + beta·C, then the epilogue; a is a packed 8-row panel (a[p·8 + r]),
    // b a 48-column panel whose rows are tail->BStride floats apart (b[p·BStride + j]).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel8x48(int kc, float* a, float* b, float* c, nint ldc, Tail* tail)
    {
        nint bs = tail->BStride;
        Vector512<float> c00 = default; Vector512<float> c01 = default; Vector512<float> c02 = default;
        Vector512<float> c10 = default; Vector512<float> c11 = default; Vector512<float> c12 = default;
        Vector512<float> c20 = default; Vector512<float> c21 = default; Vector512<float> c22 = default;
        Vector512<float> c30 = default; Vector512<float> c31 = default; Vector512<float> c32 = default;
        Vector512<float> c40 = default; Vector512<float> c41 = default; Vector512<float> c42 = default;
        Vector512<float> c50 = default; Vector512<float> c51 = default; Vector512<float> c52 = default;
        Vector512<float> c60 = default; Vector512<float> c61 = default; Vector512<float> c62 = default;
        Vector512<float> c70 = default; Vector512<float> c71 = default; Vector512<float> c72 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b + 0); var b1 = Vector512.Load(b + 16); var b2 = Vector512.Load(b + 32);
            var x = Vector512.Create(a[0]); c00 = Vector512.FusedMultiplyAdd(x, b0, c00); c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            c02 = Vector512.FusedMultiplyAdd(x, b2, c02);
            x = Vector512.Create(a[1]); c10 = Vector512.FusedMultiplyAdd(x, b0, c10); c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            c12 = Vector512.FusedMultiplyAdd(x, b2, c12);
            x = Vector512.Create(a[2]); c20 = Vector512.FusedMultiplyAdd(x, b0, c20); c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            c22 = Vector512.FusedMultiplyAdd(x, b2, c22);
            x = Vector512.Create(a[3]); c30 = Vector512.FusedMultiplyAdd(x, b0, c30); c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
            c32 = Vector512.FusedMultiplyAdd(x, b2, c32);
            x = Vector512.Create(a[4]); c40 = Vector512.FusedMultiplyAdd(x, b0, c40); c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
            c42 = Vector512.FusedMultiplyAdd(x, b2, c42);
            x = Vector512.Create(a[5]); c50 = Vector512.FusedMultiplyAdd(x, b0, c50); c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
            c52 = Vector512.FusedMultiplyAdd(x, b2, c52);
            x = Vector512.Create(a[6]); c60 = Vector512.FusedMultiplyAdd(x, b0, c60); c61 = Vector512.FusedMultiplyAdd(x, b1, c61);
            c62 = Vector512.FusedMultiplyAdd(x, b2, c62);
            x = Vector512.Create(a[7]); c70 = Vector512.FusedMultiplyAdd(x, b0, c70); c71 = Vector512.FusedMultiplyAdd(x, b1, c71);
            c72 = Vector512.FusedMultiplyAdd(x, b2, c72);
            a += 8; b += bs;
        }
        StoreRow48(c + 0 * ldc, 0, c00, c01, c02, tail);
        StoreRow48(c + 1 * ldc, 1, c10, c11, c12, tail);
        StoreRow48(c + 2 * ldc, 2, c20, c21, c22, tail);
        StoreRow48(c + 3 * ldc, 3, c30, c31, c32, tail);
        StoreRow48(c + 4 * ldc, 4, c40, c41, c42, tail);
        StoreRow48(c + 5 * ldc, 5, c50, c51, c52, tail);
        StoreRow48(c + 6 * ldc, 6, c60, c61, c62, tail);
        StoreRow48(c + 7 * ldc, 7, c70, c71, c72, tail);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow64(float* c, int row, Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3, Tail* tail)
    {
        Store(c + 0, v0, row, 0, tail);
        Store(c + 16, v1, row, 16, tail);
        Store(c + 32, v2, row, 32, tail);
        Store(c + 48, v3, row, 48, tail);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow48(float* c, int row, Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Tail* tail)
    {
        Store(c + 0, v0, row, 0, tail);
        Store(c + 16, v1, row, 16, tail);
        Store(c + 32, v2, row, 32, tail);
    }

    // Writes one vector of the tile: C = alpha·acc + beta·C (+ bias) (then ReLU), beta = 0 never reads C.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector512<float> acc, int row, int col, Tail* tail)
    {
        var v = acc * tail->Alpha;
        if (tail->Beta != 0f) v = Vector512.FusedMultiplyAdd(Vector512.Load(c), Vector512.Create(tail->Beta), v);
        if (tail->RowBias != null) v += Vector512.Create(tail->RowBias[row]);
        if (tail->ColBias != null) v += Vector512.Load(tail->ColBias + col);
        if (tail->Relu) v = Vector512.Max(v, Vector512<float>.Zero);
        v.Store(c);
    }
}
