using System.Runtime.CompilerServices;

namespace CnnLab.Kernels;

// Legend: MR x NR is the register tile of C; kc the length of the packed panels (the k block).

public static unsafe partial class Gemm
{
    // The fallback without SIMD: a 4 x 4 tile of scalar accumulators over the same packed panels.
    private static void Kernel4x4(int kc, float* a, float* b, float* c, nint ldc, Tail* tail)
    {
        float* acc = stackalloc float[16];
        for (int i = 0; i < 16; i++) acc[i] = 0f;
        for (int p = 0; p < kc; p++, a += 4, b += tail->BStride)
            for (int r = 0; r < 4; r++)
                for (int j = 0; j < 4; j++)
                    acc[r * 4 + j] = MathF.FusedMultiplyAdd(a[r], b[j], acc[r * 4 + j]);
        for (int r = 0; r < 4; r++)
            for (int j = 0; j < 4; j++)
                StoreScalar(c + r * ldc + j, acc[r * 4 + j], r, j, tail);
    }

    // The scalar form of the vector Store: the same operations in the same order, so an element
    // written through an edge tile equals the one a full tile would write, bit for bit.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreScalar(float* c, float acc, int row, int col, Tail* tail)
    {
        float v = acc * tail->Alpha;
        if (tail->Beta != 0f) v = MathF.FusedMultiplyAdd(*c, tail->Beta, v);
        if (tail->RowBias != null) v += tail->RowBias[row];
        if (tail->ColBias != null) v += tail->ColBias[col];
        if (tail->Relu) v = MathF.Max(v, 0f);
        *c = v;
    }
}
