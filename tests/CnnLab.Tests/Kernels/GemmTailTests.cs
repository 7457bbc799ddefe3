using CnnLab.Kernels;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// The narrower last-panel kernels (<c>Gemm.Kernels512Tails.cs</c>): every column count up to 130 (each
/// remainder of 48 and of 64 columns, so every tail width, full and partial) for row counts that pick
/// the 6-row and the 8-row kernel, with B plain and transposed, beta, and the bias + ReLU epilogue.
/// </summary>
public class GemmTailTests
{
    [Theory]
    [InlineData(12, false)]
    [InlineData(12, true)]
    [InlineData(16, false)]
    [InlineData(16, true)]
    [InlineData(7, false)]
    public void EveryColumnCountMatchesTheReference(int m, bool transB)
    {
        var g = new Generator(m * 31 + (transB ? 1 : 0));
        int k = 37;
        var a = new float[m * k];
        g.FillNormal(a, 0, 1);
        var bias = new float[m];
        g.FillNormal(bias, 0, 1);
        for (int n = 1; n <= 130; n++)
        {
            var b = new float[k * n];
            g.FillNormal(b, 0, 1);
            var c0 = new float[m * n];
            g.FillNormal(c0, 0, 1);
            var c1 = (float[])c0.Clone();
            int ldb = transB ? k : n;
            Gemm.Sgemm(false, transB, m, n, k, 0.5f, a, k, b, ldb, 0.25f, c0, n, GemmEpilogue.WithRowBias(bias, relu: true));
            Gemm.Reference(false, transB, m, n, k, 0.5f, a, k, b, ldb, 0.25f, c1, n);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    float expected = Math.Max(0f, c1[i * n + j] + bias[i]);
                    Assert.True(Math.Abs(c0[i * n + j] - expected) <= 1e-4f * (1 + Math.Sqrt(k)), $"n={n}: C[{i},{j}] {c0[i * n + j]} vs {expected}");
                }
        }
    }
}
