using CnnLab.Kernels;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// <see cref="Gemm.SgemmPackedA"/>: op(A) packed once (<see cref="Gemm.PackAOnce"/>) and used by many
/// products gives the same bits as the GEMM that packs it inside the call, for every kernel width, A
/// plain and transposed, row counts that leave a partial last panel, K over several k slices, B plain,
/// transposed and read in place, beta and the bias + ReLU epilogue, 1 and 2 threads.
/// </summary>
public class GemmPackedATests
{
    [Theory]
    [MemberData(nameof(GemmVariants.Widths), MemberType = typeof(GemmVariants))]
    public void PackedOnceEqualsPackedPerCallBitForBit(int vectorBits)
    {
        var g = new Generator(vectorBits + 17);
        foreach (int threads in new[] { 1, 2 })
        {
            using var threadCount = ThreadCount.Use(threads);
            foreach (var (m, n, k, transA, transB, bInPlace) in new[]
                     {
                         (64, 196, 288, false, false, true), (288, 196, 64, true, false, true), (13, 50, 7, false, true, false),
                         (31, 17, 900, true, false, false), (1, 40, 3, false, false, true), (100, 300, 400, false, false, false),
                     })
            {
                int lda = transA ? m : k, ldb = transB ? k : n;
                var (a, b, bias, perCall) = GemmVariants.Operands(g, m, n, k, transB ? n * k : (k - 1) * ldb + (n + 15) / 16 * 16);
                var once = (float[])perCall.Clone();
                var epilogue = GemmEpilogue.WithRowBias(bias, relu: true);
                Gemm.SgemmWithWidth(vectorBits, transA, transB, m, n, k, 0.5f, a, lda, b, ldb, 0.25f, perCall, n, epilogue);
                using (var packed = Gemm.PackAOnceWithWidth(vectorBits, transA, m, k, a, lda, n))
                {
                    // Used twice, as a convolution uses it for every image.
                    var first = (float[])once.Clone();
                    Gemm.SgemmPackedA(packed, n, 0.5f, transB, b, ldb, 0.25f, first, n, epilogue, bInPlace);
                    Gemm.SgemmPackedA(packed, n, 0.5f, transB, b, ldb, 0.25f, once, n, epilogue, bInPlace);
                    Assert.Equal(first, once);
                }
                Assert.Equal(perCall, once);
                Assert.Contains(once, v => v > 0f);
            }
        }
    }

    [Theory]
    [MemberData(nameof(GemmVariants.Widths), MemberType = typeof(GemmVariants))]
    public void PackedForMoreColumnsServesFewerBitForBit(int vectorBits)
    {
        // A convolution's dx packs Wᵀ for a block of images and runs a chunk's short last block with fewer columns.
        var g = new Generator(vectorBits + 29);
        int m = 150, k = 16, packedFor = 400;
        foreach (int n in new[] { 300, 200, 100, 37 })
        {
            var (a, b, _, expected) = GemmVariants.Operands(g, m, n, k, (k - 1) * n + (n + 15) / 16 * 16);
            var actual = (float[])expected.Clone();
            Gemm.SgemmWithWidth(vectorBits, true, false, m, n, k, 1f, a, m, b, n, 0f, expected, n, GemmEpilogue.None);
            using var packed = Gemm.PackAOnceWithWidth(vectorBits, true, m, k, a, m, packedFor);
            Gemm.SgemmPackedA(packed, n, 1f, false, b, n, 0f, actual, n, GemmEpilogue.None, bInPlace: true);
            Assert.Equal(expected, actual);
        }
    }

    [Fact]
    public void PackedForFewerColumnsOrDisposedIsRefused()
    {
        var a = new float[6 * 5];
        var packed = Gemm.PackAOnce(false, 6, 5, a, 5, 20);
        var b = new float[5 * 21];
        var c = new float[6 * 21];
        Assert.Throws<ArgumentException>(() => Gemm.SgemmPackedA(packed, 21, 1f, false, b, 21, 0f, c, 21, GemmEpilogue.None));
        Assert.Throws<ArgumentException>(() => Gemm.SgemmPackedA(packed, -1, 1f, false, b, 21, 0f, c, 21, GemmEpilogue.None));
        packed.Dispose();
        Assert.Throws<ObjectDisposedException>(() => Gemm.SgemmPackedA(packed, 20, 1f, false, b, 20, 0f, c, 20, GemmEpilogue.None));
    }
}
