using CnnLab.Nn;
using CnnLab.Nn.Models;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// The fusion pass over a Sequential: what it groups, the batch norm folded into the convolution in eval (close to the
/// unfused layers, refolded when a source changes, never while a parameter needs its gradient), the residual add with
/// its ReLU (the same bits), and hooks that still see what they asked for.
/// </summary>
public class FusionPlanTests
{
    private static Sequential ConvNet(Generator gen) => new(
        new Conv2d(3, 16, 3, padding: 1, generator: gen), new BatchNorm2d(16), new ReLU(), new MaxPool2d(2),
        new Conv2d(16, 16, 3, padding: 1, generator: gen), new ReLU(),
        new Conv2d(16, 32, 3, stride: 2, padding: 1, bias: false, generator: gen), new BatchNorm2d(32),
        new Residual(new Sequential(new Conv2d(32, 32, 1, generator: gen), new BatchNorm2d(32), new ReLU())), new ReLU(),
        new BatchNorm2d(32), new ReLU(), new MaxPool2d(2),
        new Flatten(), new Linear(32, 5, generator: gen));

    // Running statistics and affine parameters away from their defaults, so that folding has something to fold.
    internal static void Perturb(Module model, Generator gen)
    {
        foreach (var (name, buffer) in model.NamedBuffers())
        {
            if (name.EndsWith("running_mean", StringComparison.Ordinal)) gen.FillNormal(buffer.Data, 0f, 0.5f);
            if (name.EndsWith("running_var", StringComparison.Ordinal))
                for (int i = 0; i < buffer.Numel; i++) buffer.Data[i] = 0.5f + (float)gen.NextDouble();
        }
        foreach (var (name, p) in model.NamedParameters())
            if (name.Contains("weight", StringComparison.Ordinal) && p.Rank == 1) gen.FillNormal(p.Data, 1f, 0.3f);
    }

    // The test network in eval mode, its batch norms away from their defaults, and the generator that made it.
    private static (Sequential Net, Generator Gen) EvalConvNet(long seed)
    {
        var gen = new Generator(seed);
        var net = ConvNet(gen);
        Perturb(net, gen);
        net.Eval();
        return (net, gen);
    }

    // The model's output under no-grad with fusion on or off.
    private static float[] Output(Module model, Tensor x, bool fuse)
    {
        Sequential.SetFusion(model, fuse);
        using var _ = Autograd.NoGrad();
        return model.Forward(x).Data.ToArray();
    }

    [Fact]
    public void Groups_the_runs_that_fuse_and_leaves_the_rest()
    {
        var plan = new FusionPlan(ConvNet(new Generator(1)).Layers);
        Assert.Equal([4, 2, 2, 2, 3, 1, 1], plan.StepSizes);
    }

    [Fact]
    public void Eval_folds_the_batch_norm_into_the_convolution_close_to_the_unfused_layers()
    {
        var (net, gen) = EvalConvNet(2);
        var x = Tensor.Randn(gen, 3, 3, 12, 12);
        var unfused = Output(net, x, false);
        var fused = Output(net, x, true);
        AssertClose(unfused, fused, 1e-4f);
        Assert.NotEqual(unfused.Select(BitConverter.SingleToInt32Bits), fused.Select(BitConverter.SingleToInt32Bits)); // it did fold

        // A weight written in place (an optimizer step) and new running statistics are both seen.
        var conv = (Conv2d)net[0];
        conv.Weight.Data[5] += 0.5f;
        ((BatchNorm2d)net[1]).RunningVar!.Data[3] *= 4f;
        AssertClose(Output(net, x, false), Output(net, x, true), 1e-4f);
    }

    [Fact]
    public void Eval_with_parameters_that_need_gradients_does_not_fold()
    {
        var (net, gen) = EvalConvNet(3);
        var x = Tensor.Randn(gen, 2, 3, 12, 12);
        (float[] Y, float[] BnGrad) Step(bool fuse)
        {
            Sequential.SetFusion(net, fuse);
            net.ZeroGrad();
            var y = net.Forward(x);
            Functional.Sum(y).Backward();
            return (y.Data.ToArray(), ((BatchNorm2d)net[1]).Weight!.Grad!.Data.ToArray());
        }
        var (y0, g0) = Step(false);
        var (y1, g1) = Step(true);
        Assert.Equal(y0, y1);   // the same bits: nothing was folded
        Assert.Equal(g0, g1);
    }

    [Fact]
    public void Eval_folds_for_a_gradient_of_the_input_alone()
    {
        var (net, gen) = EvalConvNet(4);
        foreach (var p in net.Parameters()) p.RequiresGrad = false;   // a frozen network, as for a saliency map
        var x0 = Tensor.Randn(gen, 2, 3, 12, 12);
        float[] InputGradient(bool fuse)
        {
            Sequential.SetFusion(net, fuse);
            var x = x0.Clone().RequiresGrad_();
            Functional.Sum(net.Forward(x)).Backward();
            return x.Grad!.Data.ToArray();
        }
        AssertClose(InputGradient(false), InputGradient(true), 1e-4f);
    }

    [Fact]
    public void A_training_step_of_resnet_mini_is_the_same_bits_fused_or_not()
    {
        var unfused = FusionStep.Run("resnet-mini", fuse: false);
        var fused = FusionStep.Run("resnet-mini", fuse: true);
        Assert.Equal(unfused.Grads, fused.Grads);
        Assert.Equal(unfused.Buffers, fused.Buffers);
    }

    [Fact]
    public void Add_relu_is_relu_of_add_bit_for_bit_and_passes_the_finite_difference_check()
    {
        var gen = new Generator(5);
        var a = Tensor.Randn(gen, 3, 7, 5);
        var b = Tensor.Randn(gen, 3, 7, 5);
        (a.Data[0], a.Data[1], b.Data[2], a.Data[3], b.Data[3]) = (float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0f, 0f);
        var fused = Functional.AddRelu(a, b).Data.ToArray();
        var plain = Functional.Relu(Functional.Add(a, b)).Data.ToArray();
        Assert.Equal(plain.Select(BitConverter.SingleToInt32Bits), fused.Select(BitConverter.SingleToInt32Bits));
        GradCheck.Check(t => Functional.AddRelu(t[0], t[1]), [Tensor.Randn(gen, 2, 3, 4), Tensor.Randn(gen, 2, 3, 4)], what: "add relu");
        Assert.Throws<ArgumentException>(() => Functional.AddRelu(Tensor.Zeros(2, 3), Tensor.Zeros(3, 2)));
    }

    [Fact]
    public void A_hook_inside_a_group_sees_its_own_layer_output()
    {
        var (net, gen) = EvalConvNet(6);
        Tensor? seen = null;
        using var hook = net[1].RegisterForwardHook((_, _, output) => seen = output);
        using (Autograd.NoGrad()) net.Forward(Tensor.Randn(gen, 1, 3, 12, 12));
        Assert.NotNull(seen);
        Assert.Equal([1, 16, 12, 12], seen!.Shape);   // the batch norm's output, before the ReLU and the pool
        Assert.Contains(seen.Data.ToArray(), v => v < 0f);
    }

    [Fact]
    public void Eval_of_every_zoo_model_matches_the_unfused_layers()
    {
        foreach (var name in new[] { "cnn-bn", "resnet-mini", "cnn-small", "lenet5" })
        {
            var gen = new Generator(7);
            var net = ModelZoo.Create(name, gen);
            Perturb(net, gen);
            net.Eval();
            var x = Tensor.Randn(gen, 4, 1, 28, 28);
            AssertClose(Output(net, x, false), Output(net, x, true), 1e-4f, name);
        }
    }

    public static TheoryData<string> ActivationNames => new(["leaky", "elu", "gelu", "sigmoid", "tanh"]);

    private static Module Activation(string name) => name switch
    {
        "leaky" => new LeakyReLU(0.2f),
        "elu" => new ELU(0.7f),
        "gelu" => new GELU(),
        "sigmoid" => new Sigmoid(),
        _ => new Tanh(),
    };

    [Theory]
    [MemberData(nameof(ActivationNames))]
    public void Inference_applies_an_activation_in_the_convolution_with_the_layers_bits(string name)
    {
        var gen = new Generator(8);
        // 16 → 32 same 3x3 (Winograd's blocks of images), 3 → 16 stride 2 (im2col), both with odd batch and plane sizes.
        var net = new Sequential(new Conv2d(3, 16, 3, stride: 2, padding: 1, generator: gen), Activation(name),
            new Conv2d(16, 32, 3, padding: 1, generator: gen), Activation(name));
        Assert.Equal([2, 2], new FusionPlan(net.Layers).StepSizes);
        var x = Tensor.Randn(gen, 5, 3, 21, 19);
        x.Data[7] = float.NaN;
        Assert.Equal(Output(net, x, false).Select(BitConverter.SingleToInt32Bits), Output(net, x, true).Select(BitConverter.SingleToInt32Bits));
        using (ThreadCount.Use(1))
            Assert.Equal(Output(net, x, false).Select(BitConverter.SingleToInt32Bits), Output(net, x, true).Select(BitConverter.SingleToInt32Bits));
    }

    [Theory]
    [MemberData(nameof(ActivationNames))]
    public void Inference_pools_each_block_after_the_activation_with_the_layers_bits(string name)
    {
        var gen = new Generator(12);
        // An average pool (2x2 whole windows, then 3x3 stride 2 padded without the padding counted) and a max pool (3x3
        // stride 2, 16 planes at once and the rest one at a time), after Winograd's blocks of images and im2col. (A batch norm
        // between would be folded, which rounds differently: the test above.)
        var net = new Sequential(new Conv2d(3, 16, 3, stride: 2, padding: 1, generator: gen), Activation(name), new AvgPool2d(2),
            new Conv2d(16, 20, 3, padding: 1, generator: gen), Activation(name), new MaxPool2d(3, 2, 1),
            new Conv2d(20, 16, 3, padding: 1, generator: gen), Activation(name), new AvgPool2d(3, 2, 1, ceilMode: true, countIncludePad: false));
        net.Eval();
        Assert.Equal([3, 3, 3], new FusionPlan(net.Layers).StepSizes);
        var x = Tensor.Randn(gen, 5, 3, 46, 42);
        x.Data[7] = float.NaN;
        Assert.Equal(Output(net, x, false).Select(BitConverter.SingleToInt32Bits), Output(net, x, true).Select(BitConverter.SingleToInt32Bits));
        using (ThreadCount.Use(1))
            Assert.Equal(Output(net, x, false).Select(BitConverter.SingleToInt32Bits), Output(net, x, true).Select(BitConverter.SingleToInt32Bits));
        // With a gradient to take, the group runs layer by layer: the same values, and a backward through the pools.
        Sequential.SetFusion(net, true);
        var y = net.Forward(x);
        Assert.Equal(Output(net, x, false).Select(BitConverter.SingleToInt32Bits), y.Data.ToArray().Select(BitConverter.SingleToInt32Bits));
        y.Sum().Backward();
        Assert.NotNull(((Conv2d)net[0]).Weight.Grad);
    }

    [Fact]
    public void Inference_folds_the_batch_norm_and_applies_the_activation_and_training_runs_the_layers()
    {
        var gen = new Generator(9);
        var net = new Sequential(new Conv2d(3, 16, 5, padding: 2, generator: gen), new BatchNorm2d(16), new GELU());
        Perturb(net, gen);
        var x = Tensor.Randn(gen, 3, 3, 10, 9);
        float[] Output(bool fuse, bool train)
        {
            net.Fuse = fuse;
            net.Train(train);
            if (train) return net.Forward(x).Data.ToArray();
            using var _ = Autograd.NoGrad();
            return net.Forward(x).Data.ToArray();
        }
        AssertClose(Output(false, train: false), Output(true, train: false), 1e-4f);
        var trained = Output(false, train: true);
        Assert.Equal(trained, Output(true, train: true));
    }

    private static void AssertClose(float[] expected, float[] actual, float tolerance, string what = "")
    {
        Assert.Equal(expected.Length, actual.Length);
        float scale = Math.Max(1f, expected.Max(MathF.Abs));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(MathF.Abs(expected[i] - actual[i]) <= tolerance * scale, $"{what} element {i}: {actual[i]} against {expected[i]}");
    }
}
