using CnnLab.Kernels;
using CnnLab.Nn;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>The few-rows linear (batch ≤ 4) against plain double-precision dot products, and through Functional.Linear.</summary>
public class FewRowsLinearTests
{
    [Theory]
    [InlineData(1, 10, 3136)]
    [InlineData(2, 7, 15)]
    [InlineData(3, 130, 33)]
    [InlineData(4, 1, 1)]
    [InlineData(4, 129, 4099)]  // enough work to be split among threads
    public void Matches_dot_products_with_and_without_bias(int m, int n, int k)
    {
        var g = new Generator(m * 1000 + n + k);
        float[] x = Tensor.Randn(g, m * k).ToArray(), w = Tensor.Randn(g, n * k).ToArray(), b = Tensor.Randn(g, n).ToArray();
        foreach (bool withBias in new[] { true, false })
        {
            var y = new float[m * n];
            FewRowsLinear.Forward(m, n, k, x, w, withBias ? b : default, y);
            for (int r = 0; r < m; r++)
                for (int o = 0; o < n; o++)
                {
                    double dot = withBias ? b[o] : 0, size = 0;
                    for (int t = 0; t < k; t++) { dot += (double)x[r * k + t] * w[o * k + t]; size += Math.Abs((double)x[r * k + t] * w[o * k + t]); }
                    Assert.True(Math.Abs(y[r * n + o] - dot) <= 1e-6 * (size + 1), $"y[{r}, {o}] = {y[r * n + o]}, expected {dot}");
                }
        }
    }

    [Fact]
    public void Same_bits_for_any_thread_count_and_close_to_the_GEMM_at_batch_5()
    {
        var g = new Generator(5);
        var x = Tensor.Randn(g, 5, 4099);
        var w = Tensor.Randn(g, 129, 4099);
        float[] one, two;
        using (Parallelism.UseThreads(1))
            one = Functional.Linear(x.Slice(0, 4), w).ToArray();
        using (Parallelism.UseThreads(2))
            two = Functional.Linear(x.Slice(0, 4), w).ToArray();
        Assert.Equal(one, two);
        var gemm = Functional.Linear(x, w).ToArray();  // batch 5: the GEMM
        for (int i = 0; i < one.Length; i++) Assert.True(Math.Abs(one[i] - gemm[i]) <= 1e-3f * (1 + Math.Abs(gemm[i])), $"{i}");
    }

    [Theory]
    [InlineData(130, 3137)]
    [InlineData(8, 16)]
    [InlineData(21, 5)]
    public void A_row_gets_the_same_bits_alone_as_in_a_batch_of_two(int n, int k)
    {
        var g = new Generator(n + k);
        float[] x = Tensor.Randn(g, 2 * k).ToArray(), w = Tensor.Randn(g, n * k).ToArray(), b = Tensor.Randn(g, n).ToArray();
        var alone = new float[n];
        var pair = new float[2 * n];
        FewRowsLinear.Forward(1, n, k, x, w, b, alone);   // two rows of w at a time, in registers (an odd last one: Rows)
        FewRowsLinear.Forward(2, n, k, x, w, b, pair);    // the general loop
        Assert.Equal(pair[..n], alone);
    }
}
