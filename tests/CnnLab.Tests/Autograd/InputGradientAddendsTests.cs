using Tensor = CnnLab.Tensors.Tensor;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using CnnLab.Kernels;
using CnnLab.Nn;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// The gradient already pending for a tensor, added by the next op's backward as it writes its own (InputGradientAddends):
/// the engine keeps a taken sum as it is and sums the rest; each convolution algorithm's dx is exactly addend + dx (then
/// masked for a ReLU's output, and marked so); a tensor that is two of an op's inputs is offered nothing. The network-level
/// bits (a ResNet's step, fused against the layers one by one) are in ResidualFusionTests.
/// </summary>
public class InputGradientAddendsTests
{
    private static int[] Bits(ReadOnlySpan<float> v) => [.. v.ToArray().Select(BitConverter.SingleToInt32Bits)];

    [Theory]
    [MemberData(nameof(PremaskedReluGradientTests.Layers), MemberType = typeof(PremaskedReluGradientTests))]
    public void Each_algorithm_adds_the_pending_gradient_bit_for_bit(ConvAlgorithm algorithm, Conv2dGeometry g)
    {
        if (!Hardware.Runs(algorithm, g)) return;
        var r = new Generator(7);
        var (x, w, dy, addend) = (new float[g.N * g.C * g.H * g.W], new float[g.OC * g.ColRows], new float[g.N * g.OC * g.OH * g.OW],
            new float[g.N * g.C * g.H * g.W]);
        r.FillNormal(x, 0, 1);
        r.FillNormal(w, 0, 0.5f);
        r.FillNormal(dy, 0, 1);
        r.FillNormal(addend, 0, 1);
        addend[3] = float.NaN;
        var (plain, added, masked) = (new float[x.Length], new float[x.Length], new float[x.Length]);
        unsafe
        {
            fixed (float* pdy = dy)
            {
                Assert.Equal(default, Conv2dKernel.BackwardCore(g, x, w, new PlainGradient(g, pdy), plain, default, default, true, algorithm));
                Assert.Equal(new DxFinish(false, true), Conv2dKernel.BackwardCore(g, x, w, new PlainGradient(g, pdy), added, default, default,
                    true, algorithm, dxAddend: addend));
                Assert.Equal(new DxFinish(true, true), Conv2dKernel.BackwardCore(g, x, w, new PlainGradient(g, pdy), masked, default, default,
                    true, algorithm, maskDxByInput: true, dxAddend: addend));
            }
        }
        var sum = new float[x.Length];
        TensorPrimitives.Add(addend, plain, sum);   // the engine's sum, operands in its order
        Assert.Equal(Bits(sum), Bits(added));
        var expected = new float[x.Length];
        ReluKernel.BackwardOnThisThread(x, sum, expected);
        Assert.Equal(Bits(expected), Bits(masked));
    }

    [Fact]
    public void Without_an_overwritten_dx_nothing_is_added()
    {
        var g = new Conv2dGeometry(2, 4, 6, 6, 8, 3, 3, PH: 1, PW: 1);
        var (x, w, dy) = (new float[g.N * g.C * g.H * g.W], new float[g.OC * g.ColRows], new float[g.N * g.OC * g.OH * g.OW]);
        new Generator(8).FillNormal(dy, 0, 1);
        unsafe
        {
            fixed (float* pdy = dy)
                Assert.False(Conv2dKernel.BackwardCore(g, x, w, new PlainGradient(g, pdy), new float[x.Length], default, default, false,
                    ConvAlgorithm.Auto, dxAddend: new float[x.Length]).AddendAdded);
        }
    }

    // x → b = B(x); a = A(x, b): A's backward runs first and leaves a gradient pending for x, which B's backward is offered.
    private static (Tensor X, Tensor? Offered) TwoReaders(bool take, bool xTwice = false)
    {
        var x = Tensor.FromArray([1f, 2f, 3f], 3).RequiresGrad_();
        Tensor? offered = null;
        Tensor[] bInputs = xTwice ? [x, x] : [x];
        var b = Autograd.RecordWithAddends(Tensor.Zeros(3), "B", bInputs, (dy, addends) =>
        {
            offered = addends.For(0);
            if (take && offered is not null) addends.Take(0);
            var own = Tensor.FromArray([100f, 200f, 300f], 3);
            return xTwice ? [own, null] : [own];
        });
        var a = Autograd.Record(Tensor.Zeros(3), "A", [x, b], dy => [Tensor.FromArray([1f, 1f, 1f], 3), Tensor.Ones(3)]);
        a.Sum().Backward();
        return (x, offered);
    }

    [Fact]
    public void The_engine_keeps_a_taken_sum_and_adds_the_rest()
    {
        var (x, offered) = TwoReaders(take: true);
        Assert.Equal([1f, 1f, 1f], offered!.Data.ToArray());
        Assert.Equal([100f, 200f, 300f], x.Grad!.Data.ToArray());   // B said its gradient holds A's: kept as it is
        (x, offered) = TwoReaders(take: false);
        Assert.NotNull(offered);
        Assert.Equal([101f, 201f, 301f], x.Grad!.Data.ToArray());
        (x, offered) = TwoReaders(take: true, xTwice: true);
        Assert.Null(offered);
        Assert.Equal([101f, 201f, 301f], x.Grad!.Data.ToArray());
        Assert.Throws<InvalidOperationException>(() => InputGradientAddends.None.Take(0));
    }

    [Fact]
    public void A_convolution_takes_the_pending_gradient_of_a_residual_blocks_input_and_masks_the_sum()
    {
        var gen = new Generator(9);
        var x0 = Tensor.Randn(gen, 2, 4, 6, 6).RequiresGrad_();
        var w0 = Tensor.Randn(gen, 8, 4, 3, 3);
        var w1 = Tensor.Randn(gen, 8, 8, 3, 3).RequiresGrad_();
        var x = Functional.Conv2dRelu(x0, w0, padding: 1);   // a ReLU's output: its gradient may come masked
        var y = Functional.Conv2d(x, w1, padding: 1);
        var pending = Tensor.Randn(gen, x.Shape);             // the shortcut's gradient, say
        var dy = Tensor.Randn(gen, y.Shape);
        var addends = new InputGradientAddends([pending, null]);
        var grads = y.GradFn!.BackwardFunction!(dy, addends);
        Assert.True(addends.Taken(0));
        Assert.Same(x, grads[0]!.PremaskedFor);
        var own = y.GradFn!.BackwardFunction!(dy, InputGradientAddends.None)[0]!;
        var sum = new float[x.Numel];
        TensorPrimitives.Add(pending.Data, own.Data, sum);
        var expected = new float[x.Numel];
        ReluKernel.BackwardOnThisThread(x.Data, sum, expected);
        Assert.Equal(Bits(expected), Bits(grads[0]!.Data));
    }
}
