using CnnLab.Kernels;
using CnnLab.Nn;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// A training conv → batch norm → ReLU whose output the next convolution reads: that convolution masks its dx and takes the
/// batch norm's gradient sums from each image of it (BatchNormGradientSums), and the batch norm's backward uses them instead of
/// its own pass. Every gradient keeps the bits of the ops one at a time (Conv2d, BatchNorm, Relu), for every algorithm of the
/// second convolution (a depthwise one, and one fused with ReLU and a max pool, too) and 1 or 2 threads, and for a residual
/// block's end (relu(BN(conv) + skip)); a hook on the ReLU's output, or a second reader of it, turns the sums off, and so does
/// a second backward through a retained graph.
/// </summary>
public class BatchNormGradientSumsTests
{
    private static int[] Bits(Tensor t) => [.. t.Data.ToArray().Select(BitConverter.SingleToInt32Bits)];

    /// <summary>What reads the batch norm → ReLU's output y in <see cref="Step"/>.</summary>
    public enum Next { Conv, Depthwise, ConvReluPool }

    // x → conv → BN → ReLU → the next convolution (→ also a max pool of y where `secondReader`); returns every gradient's bits and
    // the sums' state after the backward.
    private static (int[][] Grads, bool Taken) Step(bool fused, ConvAlgorithm second, int threads, bool hook = false,
        bool secondReader = false, Next next = Next.Conv)
    {
        var gen = new Generator(5);
        var x = Tensor.Randn(gen, 6, 16, 10, 9).RequiresGrad_();
        var w1 = (Tensor.Randn(gen, 16, 16, 3, 3) * 0.2f).RequiresGrad_();
        var w2 = (Tensor.Randn(gen, 32, next == Next.Depthwise ? 1 : 16, 3, 3) * 0.2f).RequiresGrad_();
        var gamma = (Tensor.Randn(gen, 16) * 0.5f + 1f).RequiresGrad_();
        var beta = Tensor.Randn(gen, 16).RequiresGrad_();
        using var _ = ThreadCount.Use(threads);
        var y = fused
            ? Functional.Conv2dBatchNorm(x, w1, null, 1, 1, 1, 1, null, null, gamma, beta, true, 0.1, 1e-5f, relu: true)
            : Functional.Relu(Functional.BatchNorm(Functional.Conv2d(x, w1, null, 1, 1), null, null, gamma, beta, true, 0.1, 1e-5f));
        using var handle = hook ? y.RegisterHook(_ => { }) : null;
        var sums = y.BatchNormSumsWanted;
        var out2 = next switch
        {
            Next.Depthwise => Functional.Conv2d(y, w2, null, 1, 1, groups: 16, algorithm: second),
            Next.ConvReluPool => Functional.Conv2dReluMaxPool2d(y, w2, null, 1, 1, null, 1, 2, algorithm: second),
            _ => Functional.Conv2d(y, w2, null, 1, 1, algorithm: second),
        };
        var loss = (out2 * Tensor.Randn(new Generator(6), out2.Shape)).Sum();
        if (secondReader) loss = loss + Functional.MaxPool2d(y, 2).Sum();
        loss.Backward();
        Assert.Null(y.BatchNormSumsWanted);   // released by the batch norm's backward
        return ([Bits(x.Grad!), Bits(w1.Grad!), Bits(w2.Grad!), Bits(gamma.Grad!), Bits(beta.Grad!)], sums?.TakenFrom is not null);
    }

    [Theory]
    [InlineData(ConvAlgorithm.Auto, 1)]
    [InlineData(ConvAlgorithm.Auto, 2)]
    [InlineData(ConvAlgorithm.Winograd4x4, 1)]
    [InlineData(ConvAlgorithm.ChannelBlocked, 2)]
    [InlineData(ConvAlgorithm.OutputRows, 1)]
    [InlineData(ConvAlgorithm.Im2ColGemm, 2)]
    [InlineData(ConvAlgorithm.WinogradGemm, 2)]
    public void The_next_convolution_takes_the_sums_with_the_layers_bits(ConvAlgorithm second, int threads)
    {
        if (!Hardware.Runs(second, new Conv2dGeometry(6, 16, 10, 9, 32, 3, 3, PH: 1, PW: 1))) return;
        var (plain, _) = Step(fused: false, second, threads);
        var (fused, taken) = Step(fused: true, second, threads);
        Assert.True(taken);
        for (int i = 0; i < plain.Length; i++) Assert.Equal(plain[i], fused[i]);
    }

    [Theory]
    [InlineData(Next.Depthwise, ConvAlgorithm.Depthwise, 1)]
    [InlineData(Next.Depthwise, ConvAlgorithm.Depthwise, 2)]
    [InlineData(Next.ConvReluPool, ConvAlgorithm.Auto, 1)]
    [InlineData(Next.ConvReluPool, ConvAlgorithm.OutputRows, 2)]
    public void A_depthwise_or_pooled_convolution_takes_the_sums_with_the_layers_bits(Next next, ConvAlgorithm second, int threads)
    {
        if (!Hardware.Runs(second, new Conv2dGeometry(6, 16, 10, 9, 32, 3, 3, PH: 1, PW: 1, G: next == Next.Depthwise ? 16 : 1))) return;
        var (plain, _) = Step(fused: false, second, threads, next: next);
        var (fused, taken) = Step(fused: true, second, threads, next: next);
        Assert.True(taken);
        for (int i = 0; i < plain.Length; i++) Assert.Equal(plain[i], fused[i]);
    }

    // A residual block's end, relu(BN(conv(h)) + x), read by a convolution: its batch norm's sums are taken there too.
    private static (int[][] Grads, bool Taken) ResidualEnd(bool fused)
    {
        var gen = new Generator(7);
        var x = Tensor.Randn(gen, 5, 16, 8, 7).RequiresGrad_();
        var w1 = (Tensor.Randn(gen, 16, 16, 3, 3) * 0.2f).RequiresGrad_();
        var w2 = (Tensor.Randn(gen, 16, 16, 3, 3) * 0.2f).RequiresGrad_();
        var gamma = (Tensor.Randn(gen, 16) * 0.5f + 1f).RequiresGrad_();
        var beta = Tensor.Randn(gen, 16).RequiresGrad_();
        var y = fused
            ? Functional.Conv2dBatchNormAddRelu(x, w1, null, 1, 1, 1, 1, null, null, gamma, beta, true, () => 0.1, 1e-5f, x, ConvAlgorithm.Auto)!
            : Functional.Relu(Functional.BatchNorm(Functional.Conv2d(x, w1, null, 1, 1), null, null, gamma, beta, true, 0.1, 1e-5f) + x);
        var sums = y.BatchNormSumsWanted;
        var out2 = Functional.Conv2d(y, w2, null, 1, 1);
        (out2 * Tensor.Randn(new Generator(8), out2.Shape)).Sum().Backward();
        Assert.Null(y.BatchNormSumsWanted);   // released by the batch norm's backward
        return ([Bits(x.Grad!), Bits(w1.Grad!), Bits(w2.Grad!), Bits(gamma.Grad!), Bits(beta.Grad!)], sums?.TakenFrom is not null);
    }

    [Fact]
    public void A_residual_blocks_end_has_its_sums_taken_with_the_layers_bits()
    {
        var (plain, _) = ResidualEnd(fused: false);
        var (fused, taken) = ResidualEnd(fused: true);
        Assert.True(taken);
        for (int i = 0; i < plain.Length; i++) Assert.Equal(plain[i], fused[i]);
    }

    [Fact]
    public void A_second_backward_through_a_retained_graph_takes_the_pass_with_the_same_bits()
    {
        var gen = new Generator(9);
        var x = Tensor.Randn(gen, 4, 16, 7, 7).RequiresGrad_();
        var w1 = (Tensor.Randn(gen, 16, 16, 3, 3) * 0.2f).RequiresGrad_();
        var w2 = (Tensor.Randn(gen, 16, 16, 3, 3) * 0.2f).RequiresGrad_();
        var gamma = (Tensor.Randn(gen, 16) * 0.5f + 1f).RequiresGrad_();
        var y = Functional.Conv2dBatchNorm(x, w1, null, 1, 1, 1, 1, null, null, gamma, null, true, 0.1, 1e-5f, relu: true);
        var loss = (Functional.Conv2d(y, w2, null, 1, 1) * Tensor.Randn(new Generator(10), 4, 16, 7, 7)).Sum();
        loss.Backward(retainGraph: true);
        int[][] first = [Bits(x.Grad!), Bits(w1.Grad!), Bits(gamma.Grad!)];
        foreach (var t in new[] { x, w1, w2, gamma }) t.ZeroGrad();
        loss.Backward();
        Assert.Null(y.BatchNormSumsWanted);
        Assert.Equal(first, [Bits(x.Grad!), Bits(w1.Grad!), Bits(gamma.Grad!)]);
    }

    [Fact]
    public void A_hook_or_a_second_reader_turns_the_sums_off_and_keeps_the_bits()
    {
        var (plain, _) = Step(fused: false, ConvAlgorithm.Auto, 1, secondReader: true);
        foreach (var (hook, second) in new[] { (true, false), (false, true) })
        {
            var (fused, taken) = Step(fused: true, ConvAlgorithm.Auto, 1, hook, second);
            if (hook) Assert.False(taken);   // no mask, so no sums
            var (expected, _) = second ? (plain, false) : Step(fused: false, ConvAlgorithm.Auto, 1, hook);
            for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], fused[i]);
        }
    }
}
