using CnnLab.Kernels;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// B read by the micro-kernels in place (bInPlace, as convolutions call <see cref="Gemm.SgemmPackedA"/>)
/// gives the same bits as the packed GEMM (same tiles, same order of products) for every kernel width,
/// column counts that leave
/// every tail width, rows read on into the next row (ldb = N) or into padding (ldb rounded up), K longer
/// than one k slice, beta and the bias + ReLU epilogue, 1 and 2 threads; a B too short to read its last
/// row's padding is refused.
/// </summary>
public class GemmInPlaceBTests
{
    [Theory]
    [MemberData(nameof(GemmVariants.Widths), MemberType = typeof(GemmVariants))]
    public void InPlaceEqualsPackedBitForBit(int vectorBits)
    {
        var g = new Generator(vectorBits + 3);
        foreach (int threads in new[] { 1, 2 })
        {
            using var threadCount = ThreadCount.Use(threads);
            foreach (var (m, n, k, padded, transA) in new[]
                     {
                         (64, 196, 288, true, false), (64, 196, 288, false, false), (288, 196, 64, false, false),
                         (8, 130, 37, false, true), (12, 17, 9, true, false), (7, 1, 5, false, false), (30, 100, 900, true, true),
                     })
            {
                int ldb = padded ? (n + 15) / 16 * 16 : n;
                // B as it lies in memory: k rows ldb apart, then the 16 floats its last row may read on into.
                var (a, b, bias, packed) = GemmVariants.Operands(g, m, n, k, (k - 1) * ldb + (n + 15) / 16 * 16);
                var inPlace = (float[])packed.Clone();
                int lda = transA ? m : k;
                var epilogue = GemmEpilogue.WithRowBias(bias, relu: true);
                Gemm.SgemmWithWidth(vectorBits, transA, false, m, n, k, 0.5f, a, lda, b, ldb, 0.25f, packed, n, epilogue);
                Gemm.SgemmWithWidth(vectorBits, transA, false, m, n, k, 0.5f, a, lda, b, ldb, 0.25f, inPlace, n, epilogue, bInPlace: true);
                Assert.Equal(packed, inPlace);
                Assert.Contains(inPlace, v => v > 0f);
            }
        }
    }

    [Theory]
    [MemberData(nameof(GemmVariants.Widths), MemberType = typeof(GemmVariants))]
    public void MatchesTheReference(int vectorBits)
    {
        var g = new Generator(11);
        int m = 64, n = 196, k = 288, ldb = 208;
        var a = new float[m * k]; g.FillNormal(a, 0, 1);
        var b = new float[k * ldb]; g.FillNormal(b, 0, 1);
        var c = new float[m * n];
        var expected = new float[m * n];
        Gemm.SgemmWithWidth(vectorBits, false, false, m, n, k, 1f, a, k, b, ldb, 0f, c, n, GemmEpilogue.None, bInPlace: true);
        Gemm.Reference(false, false, m, n, k, 1f, a, k, b, ldb, 0f, expected, n);
        for (int i = 0; i < c.Length; i++)
            Assert.True(Math.Abs(c[i] - expected[i]) <= 1e-4f * (1 + Math.Abs(expected[i])), $"element {i}: {c[i]} vs {expected[i]}");
    }

    [Fact]
    public void TooShortForTheLastRowsPaddingIsRefused()
    {
        int m = 4, n = 20, k = 3;
        var a = new float[m * k];
        var b = new float[k * n]; // the last row has 20 floats, the kernel reads 32
        var c = new float[m * n];
        var ex = Assert.Throws<ArgumentException>(() =>
            Gemm.SgemmWithWidth(0, false, false, m, n, k, 1f, a, k, b, n, 0f, c, n, GemmEpilogue.None, bInPlace: true));
        Assert.Contains("in place", ex.Message);
    }
}
