using CnnLab.Kernels;
using CnnLab.Nn;
using CnnLab.Nn.Models;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// Functional.BatchNormReluMaxPool2d and Sequential's BatchNorm2d → ReLU → MaxPool2d fusion give the same
/// bits as the three ops in a row: output, dx, dγ, dβ and the running statistics, in training and in
/// evaluation, for 1 and 2 threads.
/// </summary>
public class BatchNormReluPoolFusionTests
{
    private sealed record Outcome(float[] Y, float[] Dx, float[] Dw, float[] Db, float[] RunningMean, float[] RunningVar);

    private static Outcome Run(bool fused, bool training, float[] x0, int[] shape, (int K, int S, int P, bool Ceil) pool, long seed)
    {
        var r = new Generator(seed);
        int c = shape[1];
        var x = Tensor.FromArray(x0, shape).RequiresGrad_();
        var w = Tensor.Randn(r, c).RequiresGrad_();
        var b = Tensor.Randn(r, c).RequiresGrad_();
        var rm = Tensor.Randn(r, c);
        var rv = Tensor.Rand(r, c) + 0.5f;
        Pair k = pool.K, s = pool.S, p = pool.P;
        var y = fused ? Functional.BatchNormReluMaxPool2d(x, rm, rv, w, b, training, 0.1, 1e-5f, k, s, p, 1, pool.Ceil)
            : Functional.MaxPool2d(Functional.Relu(Functional.BatchNorm(x, rm, rv, w, b, training, 0.1, 1e-5f)), k, s, p, 1, pool.Ceil);
        var up = new float[y.Numel];
        r.FillNormal(up, 0, 1);
        y.Backward(Tensor.FromArray(up, y.Shape));
        return new Outcome(y.Data.ToArray(), x.Grad!.Data.ToArray(), w.Grad!.Data.ToArray(), b.Grad!.Data.ToArray(), rm.Data.ToArray(),
            rv.Data.ToArray());
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(2, true)]
    [InlineData(1, false)]
    [InlineData(2, false)]
    public void FusedEqualsTheThreeOpsBitForBit(int threads, bool training)
    {
        using var threadCount = ThreadCount.Use(threads);
        (int[] Shape, (int, int, int, bool) Pool)[] cases =
        [
            ([6, 4, 12, 12], (2, 2, 0, false)),
            ([3, 5, 9, 7], (3, 2, 1, true)),     // overlapping windows, ceil mode
        ];
        foreach (var (shape, pool) in cases)
        {
            var x = new float[shape.Aggregate(1, (a, v) => a * v)];
            new Generator(7).FillNormal(x, 0.3f, 1.5f);
            var plain = Run(false, training, x, shape, pool, 21);
            var fused = Run(true, training, x, shape, pool, 21);
            Assert.Equal(plain.Y, fused.Y);
            Assert.Equal(plain.Dx, fused.Dx);
            Assert.Equal(plain.Dw, fused.Dw);
            Assert.Equal(plain.Db, fused.Db);
            Assert.Equal(plain.RunningMean, fused.RunningMean);
            Assert.Equal(plain.RunningVar, fused.RunningVar);
            Assert.Contains(fused.Y, v => v == 0f);
        }
    }

    [Theory]
    [InlineData(28, 28)]
    [InlineData(14, 14)]
    [InlineData(9, 13)]
    [InlineData(10, 10)]   // two output rows per vector
    [InlineData(7, 9)]
    public void KernelPoolsTheNormalizedPlanesWithTheBitsOfTheTwoSteps(int h, int w)
    {
        // NaN (kept by the ReLU, first NaN wins the window), −0 (x = −0 with shift −0: u = −0 becomes +0),
        // ties and negatives, against ScaleShiftRelu into a buffer and then MaxPool2dKernel.Forward.
        var pool = new Pool2dGeometry(3, 5, h, w, 2, 2, 2, 2);
        int s = h * w, q = pool.OH * pool.OW, planes = pool.N * pool.C;
        var x = new float[planes * s];
        var r = new Generator(9);
        r.FillNormal(x, 0, 1);
        for (int i = 0; i < x.Length; i += 7) x[i] = float.NaN;
        for (int i = 3; i < x.Length; i += 11) x[i] = -0f;
        for (int i = 5; i < x.Length; i += 13) x[i] = x[i - 1];
        float[] scale = [1.5f, 0.5f, 2f, 1f, 0.25f], shift = [-0f, 0.1f, -0.3f, -0f, 0f];
        var pooled = new float[planes * q];
        var argmax = new int[planes * q];
        BatchNormReluMaxPoolKernel.Forward(x, pool, scale, shift, pooled, argmax);
        var normalized = new float[x.Length];
        for (int plane = 0; plane < planes; plane++)
            BatchNormPlanes.ScaleShiftRelu(x.AsSpan(plane * s, s), scale[plane % pool.C], shift[plane % pool.C], normalized.AsSpan(plane * s, s));
        var expected = new float[planes * q];
        var expectedArgmax = new int[planes * q];
        MaxPool2dKernel.Forward(pool, normalized, expected, expectedArgmax);
        Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), pooled.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(expectedArgmax, argmax);
        Assert.Contains(pooled, float.IsNaN);
    }

    [Fact]
    public void CnnBnTrainingStepIsTheSameFusedOrNot()
    {
        var plain = FusionStep.Run("cnn-bn", fuse: false);
        var fused = FusionStep.Run("cnn-bn", fuse: true);
        Assert.Equal(plain.Grads, fused.Grads);
        Assert.Equal(plain.Buffers, fused.Buffers);
    }
}
