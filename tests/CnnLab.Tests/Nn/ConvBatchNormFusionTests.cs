using CnnLab.Nn;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// Functional.Conv2dBatchNormReluMaxPool2d (the convolution's backward fed batch norm's input gradient one
/// image at a time) gives the same bits as the four ops in a row: output, dx, dW, db, dγ, dβ and the
/// running statistics, in training and in evaluation, with and without the optional parameters, for 1
/// and 2 threads; and Sequential uses it only when no layer has a hook.
/// </summary>
public class ConvBatchNormFusionTests
{
    private sealed record Case(int[] Shape, int OutChannels, int Kernel, int Padding, int Groups, bool ConvBias, bool Affine,
        (int K, int S, int P, bool Ceil) Pool);

    private static float[][] Run(bool fused, bool training, Case k, long seed)
    {
        var r = new Generator(seed);
        var x = Tensor.Randn(r, k.Shape).RequiresGrad_();
        var w = (Tensor.Randn(r, k.OutChannels, k.Shape[1] / k.Groups, k.Kernel, k.Kernel) * 0.3f).RequiresGrad_();
        var cb = k.ConvBias ? Tensor.Randn(r, k.OutChannels).RequiresGrad_() : null;
        var gamma = k.Affine ? Tensor.Randn(r, k.OutChannels).RequiresGrad_() : null;
        var beta = k.Affine ? Tensor.Randn(r, k.OutChannels).RequiresGrad_() : null;
        var rm = Tensor.Randn(r, k.OutChannels);
        var rv = Tensor.Rand(r, k.OutChannels) + 0.5f;
        Pair pk = k.Pool.K, ps = k.Pool.S, pp = k.Pool.P;
        var y = fused
            ? Functional.Conv2dBatchNormReluMaxPool2d(x, w, cb, 1, k.Padding, 1, k.Groups, rm, rv, gamma, beta, training, 0.1, 1e-5f,
                pk, ps, pp, 1, k.Pool.Ceil)
            : Functional.MaxPool2d(Functional.Relu(Functional.BatchNorm(Functional.Conv2d(x, w, cb, 1, k.Padding, 1, k.Groups),
                rm, rv, gamma, beta, training, 0.1, 1e-5f)),
                pk, ps, pp, 1, k.Pool.Ceil);
        var up = new float[y.Numel];
        r.FillNormal(up, 0, 1);
        y.Backward(Tensor.FromArray(up, y.Shape));
        var parts = new List<float[]> { y.Data.ToArray(), x.Grad!.Data.ToArray(), w.Grad!.Data.ToArray(), rm.Data.ToArray(), rv.Data.ToArray() };
        foreach (var t in new[] { cb, gamma, beta }) if (t is not null) parts.Add(t.Grad!.Data.ToArray());
        return [.. parts];
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(2, true)]
    [InlineData(1, false)]
    [InlineData(2, false)]
    public void FusedEqualsTheFourOpsBitForBit(int threads, bool training)
    {
        using var threadCount = ThreadCount.Use(threads);
        Case[] cases =
        [
            new([6, 3, 12, 12], 8, 3, 1, 1, true, true, (2, 2, 0, false)),   // the zoo's block
            new([4, 1, 10, 10], 5, 3, 1, 1, true, true, (2, 2, 0, false)),   // one input channel (dot-product dW)
            new([3, 4, 9, 7], 6, 3, 0, 2, false, false, (3, 2, 1, true)),    // groups, no biases, overlapping windows
            new([5, 6, 8, 8], 4, 1, 0, 1, true, true, (2, 2, 0, false)),     // pointwise
        ];
        foreach (var k in cases)
        {
            var plain = Run(false, training, k, 31);
            var fused = Run(true, training, k, 31);
            Assert.Equal(plain.Length, fused.Length);
            for (int i = 0; i < plain.Length; i++) Assert.Equal(plain[i], fused[i]);
        }
    }

    [Fact]
    public void SequentialFusesOnlyWithoutHooks()
    {
        static Sequential Block() =>
            new(new Conv2d(2, 4, 3, padding: 1, generator: new Generator(1)), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2));
        var x = Tensor.Randn(new Generator(2), 3, 2, 8, 8);
        var fused = Block();
        var hooked = Block();
        Tensor? seen = null;
        hooked[1].RegisterForwardHook((Module _, Tensor _, Tensor output) => { seen = output; });
        var a = fused.Forward(x);
        var b = hooked.Forward(x);
        Assert.NotNull(seen); // the hook saw batch norm's own output: that block ran unfused
        Assert.Equal(a.Data.ToArray(), b.Data.ToArray());
        Assert.Equal(((BatchNorm)fused[1]).NumBatchesTracked!.Data.ToArray(), ((BatchNorm)hooked[1]).NumBatchesTracked!.Data.ToArray());
    }

    [Fact]
    public void AWrongInputIsTheConvolutionsErrorAndCountsNoBatch()
    {
        var block = new Sequential(new Conv2d(2, 4, 3, padding: 1, generator: new Generator(1)), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2));
        var ex = Assert.ThrowsAny<ArgumentException>(() => block.Forward(Tensor.Randn(new Generator(2), 3, 5, 8, 8)));
        Assert.Contains("channels", ex.Message);
        Assert.Equal(0f, ((BatchNorm)block[1]).NumBatchesTracked!.Data[0]);
    }
}
