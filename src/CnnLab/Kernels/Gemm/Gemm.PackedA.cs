using System.Buffers;
using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

// Legend: op(A) is M x K; MR the row-panel height of the micro-kernel chosen for (M, N); kc the k slices
// of <see cref="Gemm"/> (K cut into equal slices of at most KcMax).

public static unsafe partial class Gemm
{
    /// <summary>
    /// op(A) packed once into the micro-kernel's row panels, for a product that multiplies the same A by
    /// many B: a convolution's weights, once per image (forward W_g · col, backward W_gᵀ · dY). Packing
    /// A inside every call rewrites all of it per image (18k floats for cnn-small's second convolution,
    /// as much as the kernel reads); packed here it is written once per step. Layout: for each k slice
    /// (k0, kc), the M/MR panels one after the other, each kc·MR floats (a[p·MR + r]), rows past M zero.
    /// The buffer is rented from the shared pool: dispose to return it.
    /// </summary>
    internal sealed class PackedA : IDisposable
    {
        internal readonly int M, K, N;
        internal readonly MicroKernel Kernel;
        internal readonly MicroKernel[] Kernels;
        internal readonly int Panels;
        private float[]? _data;

        internal PackedA(MicroKernel[] kernels, bool transA, int m, int k, ReadOnlySpan<float> a, int lda, int n)
        {
            Validate(transA, false, m, Math.Max(n, 1), k, a.Length, lda, k * Math.Max(n, 1), Math.Max(n, 1), m * Math.Max(n, 1), Math.Max(n, 1));
            (M, K, N) = (m, k, n);
            Kernel = Job.PickKernel(kernels, m, n);
            Kernels = [Kernel];
            int mr = Kernel.MR, kc = SliceLength(k);
            Panels = (m + mr - 1) / mr;
            _data = ArrayPool<float>.Shared.Rent(Math.Max(1, Panels * mr * k));
            fixed (float* pa = a, dst = _data)
                for (int k0 = 0; k0 < k; k0 += kc)
                {
                    int len = Math.Min(kc, k - k0);
                    PackA(pa, lda, transA, 0, m, k0, len, mr, dst + PanelOffset(m, mr, k0, len, 0));
                }
        }

        internal float[] Data => _data ?? throw new ObjectDisposedException(nameof(PackedA));

        public void Dispose()
        {
            if (_data is not null) ArrayPool<float>.Shared.Return(_data);
            _data = null;
        }
    }

    /// <summary>op(A) packed for products with B of <paramref name="n"/> columns (the kernel is chosen for M x N).</summary>
    internal static PackedA PackAOnce(bool transA, int m, int k, ReadOnlySpan<float> a, int lda, int n) => new(s_kernels, transA, m, k, a, lda, n);

    /// <summary><see cref="PackAOnce"/> with the micro-kernels of a given vector width (see <see cref="SgemmWithWidth"/>), for the tests.</summary>
    internal static PackedA PackAOnceWithWidth(int vectorBits, bool transA, int m, int k, ReadOnlySpan<float> a, int lda, int n)
    {
        if ((vectorBits == 512 && !Vector512.IsHardwareAccelerated) || (vectorBits == 256 && !Vector256.IsHardwareAccelerated))
            throw new PlatformNotSupportedException($"{vectorBits}-bit vectors are not accelerated here");
        var kernels = vectorBits switch
            { 512 => s_kernels512, 256 => s_kernels256, 0 => s_kernelsScalar, _ => throw new ArgumentOutOfRangeException(nameof(vectorBits)) };
        return new(kernels, transA, m, k, a, lda, n);
    }

    /// <summary>
    /// C = act(alpha·op(A)·op(B) + beta·C + bias) with op(A) packed beforehand: the same tiles, slices and
    /// order of products as <see cref="Sgemm(bool, bool, int, int, int, float, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int,
    /// float, Span{float}, int, GemmEpilogue)"/>
    /// with the same kernel, so the same bits. With <paramref name="bInPlace"/>, B [K, N] (not transposed)
    /// is read by the micro-kernels where it lies instead of packed into panels first: for a B produced
    /// just before and used once (a convolution's column matrix) packing would copy as much memory as the
    /// product reads. The last column panel is read up to N rounded up to 16 columns, so that many floats
    /// from the start of B's last row must lie inside <paramref name="b"/>; the values past N in each row
    /// (the next row's first ones, or padding) are read and ignored. <paramref name="ahead"/>: what the caller reads next (a
    /// convolution's next image), asked for while the product runs, where it runs on one thread.
    /// </summary>
    internal static void SgemmPackedA(PackedA a, int n, float alpha, bool transB, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc,
        GemmEpilogue epilogue, bool bInPlace = false, PrefetchStream ahead = default)
    {
        // Fewer columns than A was packed for run on the same micro-kernel (its only one), with the same sums.
        if (n < 0 || n > a.N) throw new ArgumentException($"A was packed for products with up to {a.N} columns, got {n}");
        Run(a.Kernels, false, transB, a.M, n, a.K, alpha, default, a.K, b, ldb, beta, c, ldc, epilogue, bInPlace, a, ahead);
    }

    // Where the panel of rows row .. row + MR − 1 of the k slice (k0, kc) starts in a PackedA (see its layout).
    private static long PanelOffset(int m, int mr, int k0, int kc, int row) => (long)k0 * ((m + mr - 1) / mr) * mr + (long)row / mr * mr * kc;

    // Floats per k slice: K cut into equal slices no longer than KcMax. It depends on K alone, so every
    // element of C sums its products in the same order whatever the thread count.
    private static int SliceLength(int k)
    {
        int kBlocks = Math.Max(1, (k + KcMax - 1) / KcMax);
        return (k + kBlocks - 1) / kBlocks;
    }
}
