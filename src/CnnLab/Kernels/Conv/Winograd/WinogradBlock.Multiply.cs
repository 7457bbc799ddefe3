using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

internal sealed unsafe partial class WinogradBlock
{
    /// <summary>Tiles one full-width <see cref="Multiply{TWidth}"/> call covers: three vectors.</summary>
    internal const int MultiplyColumns = 48;

    /// <summary>
    /// <see cref="Multiply{TWidth}"/> for the last 16 or 32 tiles of a chunk whose tiles end there (a chunk of one image's last
    /// tile rows): <paramref name="vectors"/> (1 or 2) vectors of tiles, each sum the same chain as for 48.
    /// </summary>
    private static void MultiplyNarrow(int k, float* u, float* v, long vStride, float* m, long mStride, int vectors)
    {
        if (vectors == 2) Multiply<TwoVectors>(k, u, v, vStride, m, mStride);
        else Multiply<OneVector>(k, u, v, vStride, m, mStride);
    }

    // The width as a type, so that each instantiation is compiled for its own width: one or two vectors multiply no zero
    // third one, and all three widths share one loop.
    internal interface IWidth
    {
        static abstract int Vectors { get; }
    }

    internal struct OneVector : IWidth
    {
        public static int Vectors => 1;
    }

    internal struct TwoVectors : IWidth
    {
        public static int Vectors => 2;
    }

    internal struct ThreeVectors : IWidth
    {
        public static int Vectors => 3;
    }

    /// <summary>
    /// m[r, j] = Σ_c u[c, r]·v[c, j] for 8 rows r and 16, 32 or 48 tiles j (one to three vectors, <typeparamref name="TWidth"/>):
    /// u a packed block of <see cref="WinogradWeights"/> (u[c·8 + r]), v's rows <paramref name="vStride"/> floats apart, m's
    /// rows <paramref name="mStride"/> apart. Each sum runs over c in order from 0 by fused multiply-adds, as the GEMM's
    /// micro-kernel does. Written by hand rather than by calling the GEMM: K is only a layer's channels (16 to 128), so 24
    /// accumulators in registers and plain stores into the L1 chunk are what the product needs, without a GEMM call's
    /// blocking per position.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Multiply<TWidth>(int k, float* u, float* v, long vStride, float* m, long mStride) where TWidth : struct, IWidth
    {
        bool second = TWidth.Vectors > 1, third = TWidth.Vectors > 2;
        Vector512<float> c00 = default, c01 = default, c02 = default, c10 = default, c11 = default, c12 = default;
        Vector512<float> c20 = default, c21 = default, c22 = default, c30 = default, c31 = default, c32 = default;
        Vector512<float> c40 = default, c41 = default, c42 = default, c50 = default, c51 = default, c52 = default;
        Vector512<float> c60 = default, c61 = default, c62 = default, c70 = default, c71 = default, c72 = default;
        for (int c = 0; c < k; c++)
        {
            var b0 = Vector512.Load(v);
            var b1 = second ? Vector512.Load(v + 16) : default;
            var b2 = third ? Vector512.Load(v + 32) : default;
            var x = Vector512.Create(u[0]);
            c00 = Vector512.FusedMultiplyAdd(x, b0, c00);
            if (second) c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            if (third) c02 = Vector512.FusedMultiplyAdd(x, b2, c02);
            x = Vector512.Create(u[1]);
            c10 = Vector512.FusedMultiplyAdd(x, b0, c10);
            if (second) c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            if (third) c12 = Vector512.FusedMultiplyAdd(x, b2, c12);
            x = Vector512.Create(u[2]);
            c20 = Vector512.FusedMultiplyAdd(x, b0, c20);
            if (second) c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            if (third) c22 = Vector512.FusedMultiplyAdd(x, b2, c22);
            x = Vector512.Create(u[3]);
            c30 = Vector512.FusedMultiplyAdd(x, b0, c30);
            if (second) c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
            if (third) c32 = Vector512.FusedMultiplyAdd(x, b2, c32);
            x = Vector512.Create(u[4]);
            c40 = Vector512.FusedMultiplyAdd(x, b0, c40);
            if (second) c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
            if (third) c42 = Vector512.FusedMultiplyAdd(x, b2, c42);
            x = Vector512.Create(u[5]);
            c50 = Vector512.FusedMultiplyAdd(x, b0, c50);
            if (second) c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
            if (third) c52 = Vector512.FusedMultiplyAdd(x, b2, c52);
            x = Vector512.Create(u[6]);
            c60 = Vector512.FusedMultiplyAdd(x, b0, c60);
            if (second) c61 = Vector512.FusedMultiplyAdd(x, b1, c61);
            if (third) c62 = Vector512.FusedMultiplyAdd(x, b2, c62);
            x = Vector512.Create(u[7]);
            c70 = Vector512.FusedMultiplyAdd(x, b0, c70);
            if (second) c71 = Vector512.FusedMultiplyAdd(x, b1, c71);
            if (third) c72 = Vector512.FusedMultiplyAdd(x, b2, c72);
            u += 8;
            v += vStride;
        }
        StoreRow(m, c00, c01, c02, second, third);
        StoreRow(m + mStride, c10, c11, c12, second, third);
        StoreRow(m + 2 * mStride, c20, c21, c22, second, third);
        StoreRow(m + 3 * mStride, c30, c31, c32, second, third);
        StoreRow(m + 4 * mStride, c40, c41, c42, second, third);
        StoreRow(m + 5 * mStride, c50, c51, c52, second, third);
        StoreRow(m + 6 * mStride, c60, c61, c62, second, third);
        StoreRow(m + 7 * mStride, c70, c71, c72, second, third);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* m, Vector512<float> a, Vector512<float> b, Vector512<float> c, bool second, bool third)
    {
        a.Store(m);
        if (second) b.Store(m + 16);
        if (third) c.Store(m + 32);
    }
}
