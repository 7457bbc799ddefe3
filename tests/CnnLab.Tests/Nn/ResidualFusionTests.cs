using CnnLab.Nn;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// Residual → ReLU in inference: the body's last convolution adds the shortcut and rectifies in its epilogue
/// (FusionPlan.ForwardAddRelu, ConvBlock.ForwardAddRelu). The same bits as the layers one by one, for every convolution
/// algorithm and thread count; the layers one by one wherever a hook, a gradient or a layer after the convolution asks.
/// </summary>
public class ResidualFusionTests
{
    // Residual blocks over odd planes: 16 → 16 same 3x3 (Winograd's blocks of images) with the identity shortcut, and a
    // 16 → 32 block whose body ends in a stride-2 3x3 (im2col) with a 1x1 stride-2 shortcut; no batch norm (folding it
    // rounds differently: FusionPlanTests).
    private static Sequential Net(Generator gen) => new(
        new Conv2d(3, 16, 3, padding: 1, generator: gen), new ReLU(),
        new Residual(new Sequential(new Conv2d(16, 16, 3, padding: 1, generator: gen), new ReLU(),
            new Conv2d(16, 16, 3, padding: 1, generator: gen))), new ReLU(),
        new Residual(new Sequential(new Conv2d(16, 32, 1, generator: gen), new ReLU(),
                new Conv2d(32, 32, 3, stride: 2, padding: 1, generator: gen)),
            new Sequential(new Conv2d(16, 32, 1, stride: 2, generator: gen))), new ReLU());

    private static int[] Bits(Module net, Tensor x, bool fuse)
    {
        Sequential.SetFusion(net, fuse);
        using var _ = Autograd.NoGrad();
        return [.. net.Forward(x).Data.ToArray().Select(BitConverter.SingleToInt32Bits)];
    }

    [Fact]
    public void Inference_adds_the_shortcut_in_the_last_convolution_with_the_layers_bits()
    {
        var gen = new Generator(21);
        var net = Net(gen);
        net.Eval();
        var x = Tensor.Randn(gen, 5, 3, 17, 15);
        x.Data[11] = float.NaN;
        Assert.Equal(Bits(net, x, false), Bits(net, x, true));
        using (ThreadCount.Use(1)) Assert.Equal(Bits(net, x, false), Bits(net, x, true));
    }

    [Fact]
    public void The_epilogue_takes_a_bare_or_folded_convolution_without_gradients_and_nothing_else()
    {
        var gen = new Generator(22);
        var conv = new Conv2d(8, 8, 3, padding: 1, generator: gen);
        var norm = new BatchNorm2d(8);
        var x = Tensor.Randn(gen, 2, 8, 6, 6);
        var skip = Tensor.Randn(gen, 2, 8, 6, 6);
        using (Autograd.NoGrad())
        {
            var added = new ConvBlock(conv, null, false, null).ForwardAddRelu(x, skip);
            Assert.NotNull(added);
            var plain = Functional.AddRelu(conv.Forward(x), skip);
            Assert.Equal(plain.Data.ToArray(), added!.Data.ToArray());
            Assert.Null(new ConvBlock(conv, null, true, null).ForwardAddRelu(x, skip));        // a ReLU comes first
            Assert.Null(new ConvBlock(conv, null, false, null).ForwardAddRelu(x, Tensor.Zeros(2, 8, 3, 3)));   // the shapes differ
            norm.Train();
            Assert.Null(new ConvBlock(conv, norm, false, null).ForwardAddRelu(x, skip));       // batch statistics: not folded
            norm.Eval();
            Assert.NotNull(new ConvBlock(conv, norm, false, null).ForwardAddRelu(x, skip));
        }
        Assert.Null(new ConvBlock(conv, null, false, null).ForwardAddRelu(x, skip));           // the weights need gradients
    }

    [Fact]
    public void A_hook_on_the_last_convolution_sees_its_output_before_the_add()
    {
        var gen = new Generator(23);
        var net = Net(gen);
        net.Eval();
        var x = Tensor.Randn(gen, 2, 3, 9, 9);
        var expected = Bits(net, x, true);
        var body = (Sequential)((Residual)net[2]).Body;
        float[]? seen = null;
        using var hook = body[2].RegisterForwardHook((_, _, output) => { seen = output.Data.ToArray(); });
        Assert.Equal(expected, Bits(net, x, true));
        Assert.NotNull(seen);
        Assert.Contains(seen!, v => v < 0f);   // the convolution's own output, not the rectified sum
    }

    [Fact]
    public void With_gradients_the_block_runs_as_before_and_a_mismatched_shortcut_is_reported()
    {
        var gen = new Generator(24);
        var net = Net(gen);
        net.Eval();
        var x = Tensor.Randn(gen, 2, 3, 9, 9);
        Sequential.SetFusion(net, true);
        var y = net.Forward(x);   // gradients on: nothing fused into the epilogue, a graph recorded
        Assert.Equal(Bits(net, x, false), y.Data.ToArray().Select(BitConverter.SingleToInt32Bits));
        y.Sum().Backward();
        Assert.NotNull(((Conv2d)((Sequential)((Residual)net[2]).Body)[2]).Weight.Grad);

        var wrong = new Sequential(new Residual(new Sequential(new Conv2d(3, 4, 3, padding: 1, generator: gen))), new ReLU());
        using var _ = Autograd.NoGrad();
        var error = Assert.Throws<ArgumentException>(() => wrong.Forward(x));
        Assert.Contains("Residual: body output [2, 4, 9, 9] and shortcut output [2, 3, 9, 9] differ", error.Message);
    }
}
