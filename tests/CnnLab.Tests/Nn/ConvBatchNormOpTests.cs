using CnnLab.Kernels;
using CnnLab.Nn;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>Functional.Conv2dBatchNorm (with and without its ReLU) against the ops in a row: the same bits, forward and backward.</summary>
public class ConvBatchNormOpTests
{
    private static float[][] Step(bool fused, bool relu, int threads, ConvAlgorithm algorithm)
    {
        var gen = new Generator(31);
        var x = Tensor.Randn(gen, 5, 6, 9, 11).RequiresGrad_();
        var w = Tensor.Randn(gen, 16, 6, 3, 3).RequiresGrad_();
        var b = Tensor.Randn(gen, 16).RequiresGrad_();
        var gamma = Tensor.Randn(gen, 16).RequiresGrad_();
        var beta = Tensor.Randn(gen, 16).RequiresGrad_();
        var (mean, variance) = (Tensor.Zeros(16), Tensor.Ones(16));
        var upstream = Tensor.Randn(gen, 5, 16, 5, 6);
        using var _ = ThreadCount.Use(threads);
        Tensor y;
        if (fused)
            y = Functional.Conv2dBatchNorm(x, w, b, 2, 1, 1, 1, mean, variance, gamma, beta, true, 0.1, 1e-5f, relu, algorithm);
        else
        {
            y = Functional.BatchNorm(Functional.Conv2d(x, w, b, 2, 1, 1, 1, algorithm), mean, variance, gamma, beta, true, 0.1, 1e-5f);
            if (relu) y = Functional.Relu(y);
        }
        y.Backward(upstream);
        return [y.ToArray(), x.Grad!.ToArray(), w.Grad!.ToArray(), b.Grad!.ToArray(), gamma.Grad!.ToArray(), beta.Grad!.ToArray(),
            mean.ToArray(), variance.ToArray()];
    }

    [Theory]
    [InlineData(false, ConvAlgorithm.Auto)]
    [InlineData(true, ConvAlgorithm.Auto)]
    [InlineData(true, ConvAlgorithm.Im2ColGemm)]
    public void Is_the_ops_in_a_row_bit_for_bit_for_any_thread_count(bool relu, ConvAlgorithm algorithm)
    {
        var expected = Step(fused: false, relu, threads: 1, algorithm);
        Assert.Contains(expected[0], v => v < 0f == !relu && v != 0f);   // the ReLU, where there is one, did cut
        foreach (int threads in new[] { 1, 2 })
        {
            var actual = Step(fused: true, relu, threads, algorithm);
            for (int k = 0; k < expected.Length; k++) Assert.Equal(expected[k], actual[k]);
        }
    }

    [Fact]
    public void Passes_the_finite_difference_check()
    {
        var gen = new Generator(32);
        GradCheck.Check(t => Functional.Conv2dBatchNorm(t[0], t[1], t[2], 1, 1, 1, 1, null, null, t[3], t[4], true, 0.1, 1e-5f),
            [Tensor.Randn(gen, 2, 3, 5, 4), Tensor.Randn(gen, 4, 3, 3, 3), Tensor.Randn(gen, 4), Tensor.Randn(gen, 4), Tensor.Randn(gen, 4)],
            what: "conv2d + batch norm");   // smooth: the ReLU's kinks would defeat finite differences; the test above covers it
    }
}
