using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

// The AVX-512 micro-kernels for the last column panel of a block when fewer than NR columns are left
// (N = 196 = 3·64 + 4 would otherwise run a fourth full 64-wide tile for 4 columns): 16, 32 or 48
// columns wide, same row counts as Kernel6x64/Kernel8x48 so they share the packed A panel. Generated
// in the same unrolled shape as Gemm.Kernels512.cs (the statements of one row of the tile together).

public static unsafe partial class Gemm
{
    // Tile C[6 x 16] for the last, narrower column panel of a 6-row kernel (see Gemm.Job.RunTiles); b is a packed 16-column panel.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tail6x16(int kc, float* a, float* b, float* c, nint ldc, Tail* tail)
    {
        nint bs = tail->BStride;
        Vector512<float> c00 = default;
        Vector512<float> c10 = default;
        Vector512<float> c20 = default;
        Vector512<float> c30 = default;
        Vector512<float> c40 = default;
        Vector512<float> c50 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b + 0);
            var x = Vector512.Create(a[0]); c00 = Vector512.FusedMultiplyAdd(x, b0, c00);
            x = Vector512.Create(a[1]); c10 = Vector512.FusedMultiplyAdd(x, b0, c10);
            x = Vector512.Create(a[2]); c20 = Vector512.FusedMultiplyAdd(x, b0, c20);
            x = Vector512.Create(a[3]); c30 = Vector512.FusedMultiplyAdd(x, b0, c30);
            x = Vector512.Create(a[4]); c40 = Vector512.FusedMultiplyAdd(x, b0, c40);
            x = Vector512.Create(a[5]); c50 = Vector512.FusedMultiplyAdd(x, b0, c50);
            a += 6; b += bs;
        }
        Store(c + 0 * ldc + 0, c00, 0, 0, tail);
        Store(c + 1 * ldc + 0, c10, 1, 0, tail);
        Store(c + 2 * ldc + 0, c20, 2, 0, tail);
        Store(c + 3 * ldc + 0, c30, 3, 0, tail);
        Store(c + 4 * ldc + 0, c40, 4, 0, tail);
        Store(c + 5 * ldc + 0, c50, 5, 0, tail);
    }

    // Tile C[6 x 32] for the last, narrower column panel of a 6-row kernel (see Gemm.Job.RunTiles); b is a packed 32-column panel.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tail6x32(int kc, float* a, float* b, float* c, nint ldc, Tail* tail)
    {
        nint bs = tail->BStride;
        Vector512<float> c00 = default; Vector512<float> c01 = default;
        Vector512<float> c10 = default; Vector512<float> c11 = default;
        Vector512<float> c20 = default; Vector512<float> c21 = default;
        Vector512<float> c30 = default; Vector512<float> c31 = default;
        Vector512<float> c40 = default; Vector512<float> c41 = default;
        Vector512<float> c50 = default; Vector512<float> c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b + 0); var b1 = Vector512.Load(b + 16);
            var x = Vector512.Create(a[0]); c00 = Vector512.FusedMultiplyAdd(x, b0, c00); c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a[1]); c10 = Vector512.FusedMultiplyAdd(x, b0, c10); c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a[2]); c20 = Vector512.FusedMultiplyAdd(x, b0, c20); c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a[3]); c30 = Vector512.FusedMultiplyAdd(x, b0, c30); c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a[4]); c40 = Vector512.FusedMultiplyAdd(x, b0, c40); c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a[5]); c50 = Vector512.FusedMultiplyAdd(x, b0, c50); c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
            a += 6; b += bs;
        }
        Store(c + 0 * ldc + 0, c00, 0, 0, tail); Store(c + 0 * ldc + 16, c01, 0, 16, tail);
        Store(c + 1 * ldc + 0, c10, 1, 0, tail); Store(c + 1 * ldc + 16, c11, 1, 16, tail);
        Store(c + 2 * ldc + 0, c20, 2, 0, tail); Store(c + 2 * ldc + 16, c21, 2, 16, tail);
        Store(c + 3 * ldc + 0, c30, 3, 0, tail); Store(c + 3 * ldc + 16, c31, 3, 16, tail);
        Store(c + 4 * ldc + 0, c40, 4, 0, tail); Store(c + 4 * ldc + 16, c41, 4, 16, tail);
        Store(c + 5 * ldc + 0, c50, 5, 0, tail); Store(c + 5 * ldc + 16, c51, 5, 16, tail);
    }

    // Tile C[6 x 48] for the last, narrower column panel of a 6-row kernel (see Gemm.Job.RunTiles); b is a packed 48-column panel.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tail6x48(int kc, float* a, float* b, float* c, nint ldc, Tail* tail)
    {
        nint bs = tail->BStride;
        Vector512<float> c00 = default; Vector512<float> c01 = default; Vector512<float> c02 = default;
        Vector512<float> c10 = default; Vector512<float> c11 = default; Vector512<float> c12 = default;
        Vector512<float> c20 = default; Vector512<float> c21 = default; Vector512<float> c22 = default;
        Vector512<float> c30 = default; Vector512<float> c31 = default; Vector512<float> c32 = default;
        Vector512<float> c40 = default; Vector512<float> c41 = default; Vector512<float> c42 = default;
        Vector512<float> c50 = default; Vector512<float> c51 = default; Vector512<float> c52 = default;
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
            a += 6; b += bs;
        }
        Store(c + 0 * ldc + 0, c00, 0, 0, tail); Store(c + 0 * ldc + 16, c01, 0, 16, tail); Store(c + 0 * ldc + 32, c02, 0, 32, tail);
        Store(c + 1 * ldc + 0, c10, 1, 0, tail); Store(c + 1 * ldc + 16, c11, 1, 16, tail); Store(c + 1 * ldc + 32, c12, 1, 32, tail);
        Store(c + 2 * ldc + 0, c20, 2, 0, tail); Store(c + 2 * ldc + 16, c21, 2, 16, tail); Store(c + 2 * ldc + 32, c22, 2, 32, tail);
        Store(c + 3 * ldc + 0, c30, 3, 0, tail); Store(c + 3 * ldc + 16, c31, 3, 16, tail); Store(c + 3 * ldc + 32, c32, 3, 32, tail);
        Store(c + 4 * ldc + 0, c40, 4, 0, tail); Store(c + 4 * ldc + 16, c41, 4, 16, tail); Store(c + 4 * ldc + 32, c42, 4, 32, tail);
        Store(c + 5 * ldc + 0, c50, 5, 0, tail); Store(c + 5 * ldc + 16, c51, 5, 16, tail); Store(c + 5 * ldc + 32, c52, 5, 32, tail);
    }

    // Tile C[8 x 16] for the last, narrower column panel of a 8-row kernel (see Gemm.Job.RunTiles); b is a packed 16-column panel.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tail8x16(int kc, float* a, float* b, float* c, nint ldc, Tail* tail)
    {
        nint bs = tail->BStride;
        Vector512<float> c00 = default;
        Vector512<float> c10 = default;
        Vector512<float> c20 = default;
        Vector512<float> c30 = default;
        Vector512<float> c40 = default;
        Vector512<float> c50 = default;
        Vector512<float> c60 = default;
        Vector512<float> c70 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b + 0);
            var x = Vector512.Create(a[0]); c00 = Vector512.FusedMultiplyAdd(x, b0, c00);
            x = Vector512.Create(a[1]); c10 = Vector512.FusedMultiplyAdd(x, b0, c10);
            x = Vector512.Create(a[2]); c20 = Vector512.FusedMultiplyAdd(x, b0, c20);
            x = Vector512.Create(a[3]); c30 = Vector512.FusedMultiplyAdd(x, b0, c30);
            x = Vector512.Create(a[4]); c40 = Vector512.FusedMultiplyAdd(x, b0, c40);
            x = Vector512.Create(a[5]); c50 = Vector512.FusedMultiplyAdd(x, b0, c50);
            x = Vector512.Create(a[6]); c60 = Vector512.FusedMultiplyAdd(x, b0, c60);
            x = Vector512.Create(a[7]); c70 = Vector512.FusedMultiplyAdd(x, b0, c70);
            a += 8; b += bs;
        }
        Store(c + 0 * ldc + 0, c00, 0, 0, tail);
        Store(c + 1 * ldc + 0, c10, 1, 0, tail);
        Store(c + 2 * ldc + 0, c20, 2, 0, tail);
        Store(c + 3 * ldc + 0, c30, 3, 0, tail);
        Store(c + 4 * ldc + 0, c40, 4, 0, tail);
        Store(c + 5 * ldc + 0, c50, 5, 0, tail);
        Store(c + 6 * ldc + 0, c60, 6, 0, tail);
        Store(c + 7 * ldc + 0, c70, 7, 0, tail);
    }

    // Tile C[8 x 32] for the last, narrower column panel of a 8-row kernel (see Gemm.Job.RunTiles); b is a packed 32-column panel.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tail8x32(int kc, float* a, float* b, float* c, nint ldc, Tail* tail)
    {
        nint bs = tail->BStride;
        Vector512<float> c00 = default; Vector512<float> c01 = default;
        Vector512<float> c10 = default; Vector512<float> c11 = default;
        Vector512<float> c20 = default; Vector512<float> c21 = default;
        Vector512<float> c30 = default; Vector512<float> c31 = default;
        Vector512<float> c40 = default; Vector512<float> c41 = default;
        Vector512<float> c50 = default; Vector512<float> c51 = default;
        Vector512<float> c60 = default; Vector512<float> c61 = default;
        Vector512<float> c70 = default; Vector512<float> c71 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b + 0); var b1 = Vector512.Load(b + 16);
            var x = Vector512.Create(a[0]); c00 = Vector512.FusedMultiplyAdd(x, b0, c00); c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a[1]); c10 = Vector512.FusedMultiplyAdd(x, b0, c10); c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a[2]); c20 = Vector512.FusedMultiplyAdd(x, b0, c20); c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a[3]); c30 = Vector512.FusedMultiplyAdd(x, b0, c30); c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a[4]); c40 = Vector512.FusedMultiplyAdd(x, b0, c40); c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a[5]); c50 = Vector512.FusedMultiplyAdd(x, b0, c50); c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(a[6]); c60 = Vector512.FusedMultiplyAdd(x, b0, c60); c61 = Vector512.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(a[7]); c70 = Vector512.FusedMultiplyAdd(x, b0, c70); c71 = Vector512.FusedMultiplyAdd(x, b1, c71);
            a += 8; b += bs;
        }
        Store(c + 0 * ldc + 0, c00, 0, 0, tail); Store(c + 0 * ldc + 16, c01, 0, 16, tail);
        Store(c + 1 * ldc + 0, c10, 1, 0, tail); Store(c + 1 * ldc + 16, c11, 1, 16, tail);
        Store(c + 2 * ldc + 0, c20, 2, 0, tail); Store(c + 2 * ldc + 16, c21, 2, 16, tail);
        Store(c + 3 * ldc + 0, c30, 3, 0, tail); Store(c + 3 * ldc + 16, c31, 3, 16, tail);
        Store(c + 4 * ldc + 0, c40, 4, 0, tail); Store(c + 4 * ldc + 16, c41, 4, 16, tail);
        Store(c + 5 * ldc + 0, c50, 5, 0, tail); Store(c + 5 * ldc + 16, c51, 5, 16, tail);
        Store(c + 6 * ldc + 0, c60, 6, 0, tail); Store(c + 6 * ldc + 16, c61, 6, 16, tail);
        Store(c + 7 * ldc + 0, c70, 7, 0, tail); Store(c + 7 * ldc + 16, c71, 7, 16, tail);
    }
}
