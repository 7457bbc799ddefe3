using CnnLab.Nn;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// Residual → ReLU in inference: the body's last convolution adds the shortcut and rectifies in its epilogue
/// (FusionPlan.ForwardAddRelu, ConvBlock.ForwardAddRelu); in training, a body ending in conv → batch norm adds it in the
/// batch norm's pass. The same bits as the layers one by one, for every convolution algorithm and thread count; the layers
/// one by one wherever a hook, a layer after the convolution or a shortcut that draws random numbers asks.
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
            // Batch statistics: not folded, but the batch norm's pass adds the skip (the training op, here under no-grad).
            var trained = new ConvBlock(conv, norm, false, null).ForwardAddRelu(x, skip);
            Assert.NotNull(trained);
            Assert.Equal(1f, norm.NumBatchesTracked!.Data[0]);
            Assert.Equal(Functional.AddRelu(norm.Forward(conv.Forward(x)), skip).Data.ToArray(), trained!.Data.ToArray());
            Assert.Null(new ConvBlock(conv, norm, false, null).ForwardAddRelu(x, Tensor.Zeros(2, 8, 3, 3)));
            Assert.Equal(2f, norm.NumBatchesTracked!.Data[0]);   // counted once per batch that ran, not for one refused
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

    // A ResNet's blocks in training: conv → BN → ReLU → conv → BN, + the identity or a 1x1 stride-2 conv → BN, → ReLU. With
    // dropouts, the second block's body and shortcut draw from one generator, so running them in the other order changes values.
    private static Sequential ResNet(Generator gen, bool dropouts)
    {
        var draws = new Generator(33);
        Module[] body = dropouts
            ? [new Conv2d(16, 32, 3, stride: 2, padding: 1, generator: gen), new BatchNorm2d(32), new ReLU(), new Dropout(0.5f, draws),
               new Conv2d(32, 32, 3, padding: 1, generator: gen), new BatchNorm2d(32)]
            : [new Conv2d(16, 32, 3, stride: 2, padding: 1, generator: gen), new BatchNorm2d(32), new ReLU(),
               new Conv2d(32, 32, 3, padding: 1, generator: gen), new BatchNorm2d(32)];
        Module[] shortcut = dropouts
            ? [new Conv2d(16, 32, 1, stride: 2, generator: gen), new Dropout(0.5f, draws)]
            : [new Conv2d(16, 32, 1, stride: 2, generator: gen), new BatchNorm2d(32)];
        return new(
            new Conv2d(3, 16, 3, padding: 1, generator: gen), new BatchNorm2d(16), new ReLU(),
            new Residual(new Sequential(new Conv2d(16, 16, 3, padding: 1, generator: gen), new BatchNorm2d(16), new ReLU(),
                new Conv2d(16, 16, 3, padding: 1, generator: gen), new BatchNorm2d(16))), new ReLU(),
            new Residual(new Sequential(body), new Sequential(shortcut)), new ReLU());
    }

    private static (int[] Output, int[][] Gradients, int[][] Buffers) TrainStep(bool fuse, bool dropouts = false) =>
        TrainStep(fuse, dropouts, out _);

    private static (int[] Output, int[][] Gradients, int[][] Buffers) TrainStep(bool fuse, bool dropouts, out string lastOp)
    {
        var gen = new Generator(31);
        var net = ResNet(gen, dropouts);
        net.Train();
        Sequential.SetFusion(net, fuse);
        var x = Tensor.Randn(gen, 4, 3, 11, 9);
        x.RequiresGrad = true;
        var y = net.Forward(x);
        lastOp = y.GradFn!.Name;
        (y * Tensor.Randn(new Generator(32), y.Shape)).Sum().Backward();
        static int[] Bits(Tensor t) => [.. t.Data.ToArray().Select(BitConverter.SingleToInt32Bits)];
        return (Bits(y), [Bits(x.Grad!), .. net.Parameters().Select(p => Bits(p.Grad!))], [.. net.StateDict().Values.Select(Bits)]);
    }

    [Fact]
    public void Training_adds_the_shortcut_in_the_last_batch_norms_pass_with_the_layers_bits()
    {
        var (output, gradients, buffers) = TrainStep(false, false, out var unfusedOp);
        var fused = TrainStep(true, false, out var fusedOp);
        Assert.Equal("ReluBackward", unfusedOp);
        Assert.Equal("ConvolutionBatchNormAddReluBackward", fusedOp);
        Assert.Equal(output, fused.Output);
        Assert.Equal(gradients.Length, fused.Gradients.Length);
        for (int i = 0; i < gradients.Length; i++) Assert.Equal(gradients[i], fused.Gradients[i]);
        for (int i = 0; i < buffers.Length; i++) Assert.Equal(buffers[i], fused.Buffers[i]);   // running statistics, batches counted
    }

    [Fact]
    public void Training_keeps_the_branches_order_where_the_shortcut_draws_random_numbers()
    {
        var (output, gradients, _) = TrainStep(fuse: false, dropouts: true);
        var fused = TrainStep(true, true, out var fusedOp);
        Assert.Equal("AddReluBackward", fusedOp);   // the branches one after the other, the add and ReLU after them
        Assert.Equal(output, fused.Output);
        for (int i = 0; i < gradients.Length; i++) Assert.Equal(gradients[i], fused.Gradients[i]);
    }

    [Theory]
    [InlineData(false, true, null)]    // no affine parameters
    [InlineData(true, false, 0.1)]     // no running statistics: batch statistics in eval mode too
    [InlineData(true, true, null)]     // momentum None: the cumulative average
    public void Training_fuses_every_kind_of_batch_norm_with_the_layers_bits(bool affine, bool track, double? momentum)
    {
        (int[] Y, int[][] Grads, int[][] State, string Op) Step(bool fuse)
        {
            var gen = new Generator(41);
            var net = new Sequential(new Residual(new Sequential(
                new Conv2d(6, 6, 3, padding: 2, dilation: 2, groups: 2, generator: gen), new BatchNorm2d(6, affine: affine, trackRunningStats: track),
                new ReLU(), new Conv2d(6, 6, 3, padding: 1, generator: gen), new BatchNorm2d(6, momentum: momentum, affine: affine,
                    trackRunningStats: track))), new ReLU());
            net.Train();
            Sequential.SetFusion(net, fuse);
            var x = Tensor.Randn(gen, 3, 6, 7, 5);
            x.RequiresGrad = true;
            var y = net.Forward(x);
            (y * Tensor.Randn(new Generator(42), y.Shape)).Sum().Backward();
            static int[] Bits(Tensor t) => [.. t.Data.ToArray().Select(BitConverter.SingleToInt32Bits)];
            return (Bits(y), [Bits(x.Grad!), .. net.Parameters().Select(p => Bits(p.Grad!))], [.. net.StateDict().Values.Select(Bits)],
                y.GradFn!.Name);
        }
        var plain = Step(false);
        var fused = Step(true);
        Assert.Equal("ConvolutionBatchNormAddReluBackward", fused.Op);
        Assert.Equal(plain.Y, fused.Y);
        Assert.Equal(plain.Grads.Length, fused.Grads.Length);
        for (int i = 0; i < plain.Grads.Length; i++) Assert.Equal(plain.Grads[i], fused.Grads[i]);
        for (int i = 0; i < plain.State.Length; i++) Assert.Equal(plain.State[i], fused.State[i]);
    }
}
