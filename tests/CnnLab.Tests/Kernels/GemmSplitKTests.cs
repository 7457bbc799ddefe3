using CnnLab.Kernels;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// A product with a long K and a small C (cut into K chunks, <c>Gemm.SplitK.cs</c>) against the plain
/// triple loop, for every transpose, with beta and the bias + ReLU epilogue, and the same bits on 1 and
/// 2 threads.
/// </summary>
public class GemmSplitKTests
{
    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void LongKMatchesTheReferenceAndIsThreadCountIndependent(bool transA, bool transB)
    {
        int m = 20, n = 37, k = 7000; // 5 chunks, the last one short
        var g = new Generator(transA ? 3 : 5);
        var a = new float[m * k];
        var b = new float[k * n];
        g.FillNormal(a, 0, 1);
        g.FillNormal(b, 0, 1);
        var bias = new float[m];
        g.FillNormal(bias, 0, 1);
        var c0 = new float[m * n];
        g.FillNormal(c0, 0, 1);
        int lda = transA ? m : k, ldb = transB ? k : n;
        float[] Run(int threads)
        {
            using var threadCount = ThreadCount.Use(threads);
            var c = (float[])c0.Clone();
            Gemm.Sgemm(transA, transB, m, n, k, 0.5f, a, lda, b, ldb, 0.25f, c, n, GemmEpilogue.WithRowBias(bias, relu: true));
            return c;
        }
        var one = Run(1);
        Assert.Equal(one, Run(2));
        var expected = (float[])c0.Clone();
        Gemm.Reference(transA, transB, m, n, k, 0.5f, a, lda, b, ldb, 0.25f, expected, n);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float e = Math.Max(0f, expected[i * n + j] + bias[i]);
                Assert.True(Math.Abs(one[i * n + j] - e) <= 1e-3f * (1 + Math.Abs(e)), $"C[{i},{j}] = {one[i * n + j]}, expected {e}");
            }
        Assert.Contains(one, v => v == 0f);
        Assert.Contains(one, v => v > 0f);
    }
}
