using CnnLab.Kernels;
using CnnLab.Nn;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// Training's conv → activation as one op (<c>Functional.Conv2dActivation</c>): the activation applied to each block of
/// images as the convolution finishes it, and its derivative taken from the output inside the convolution's backward.
/// Output and every gradient must be the unfused layers' bits, on im2col, channel-blocked, Winograd, grouped and dilated
/// convolutions, both for activations whose derivative follows from their output and for those that need the convolution's
/// output kept (GELU, a negative slope or α).
/// </summary>
public class ConvActivationTrainingTests
{
    public static TheoryData<string> Activations => new(["leaky 0.2", "leaky 0", "elu 0.7", "sigmoid", "tanh", "leaky -0.3", "elu -0.5", "gelu"]);

    private static Module Activation(string name) => name switch
    {
        "leaky 0.2" => new LeakyReLU(0.2f),
        "leaky 0" => new LeakyReLU(0f),
        "leaky -0.3" => new LeakyReLU(-0.3f),
        "elu 0.7" => new ELU(0.7f),
        "elu -0.5" => new ELU(-0.5f),
        "sigmoid" => new Sigmoid(),
        "tanh" => new Tanh(),
        _ => new GELU(),
    };

    // 3 → 16 stride 2 with an odd plane (im2col or direct), 16 → 32 same 3x3 (Winograd), 32 → 32 in 4 groups dilated 2,
    // 32 → 16 1x1 (a plain GEMM), each followed by the activation.
    private static Sequential Net(string activation, Generator gen) => new(
        new Conv2d(3, 16, 3, stride: 2, padding: 1, generator: gen), Activation(activation),
        new Conv2d(16, 32, 3, padding: 1, generator: gen), Activation(activation),
        new Conv2d(32, 32, 3, padding: 2, dilation: 2, groups: 4, generator: gen), Activation(activation),
        new Conv2d(32, 16, 1, bias: false, generator: gen), Activation(activation));

    [Theory]
    [MemberData(nameof(Activations))]
    public void Training_applies_the_activation_in_the_convolution_with_the_layers_bits(string activation)
    {
        var gen = new Generator(21);
        var net = Net(activation, gen);
        var x = Tensor.Randn(gen, 5, 3, 23, 21);
        // Exact zeros where the activation's branch changes (z = 0: LeakyReLU and ELU take their x ≤ 0 side).
        for (int i = 0; i < x.Numel; i += 11) x.Data[i] = 0f;
        var weights = Tensor.Randn(gen, 5, 16, 12, 11);
        AssertFusedAsLayers(net, x, weights, "ConvolutionActivationBackward", activation);
    }

    // all-conv's first two layers: 3 → 32 5x5 on 32x32 planes (the output-row kernel) and 32 → 64 stride 2 (channel-blocked),
    // whose kernels store a leaky ReLU themselves (Rectifier) where its derivative needs no kept input.
    [Theory]
    [MemberData(nameof(Activations))]
    public void Training_with_kernels_that_store_the_activation_has_the_layers_bits(string activation)
    {
        if (!System.Runtime.Intrinsics.X86.Avx512F.IsSupported) return;   // the kernels that store it are AVX-512's
        Assert.Equal(ConvAlgorithm.OutputRows, ConvPlanner.Plan(new Conv2dGeometry(3, 3, 32, 32, 32, 5, 5, PH: 2, PW: 2)).Forward);
        Assert.Equal(ConvAlgorithm.ChannelBlocked,
            ConvPlanner.Plan(new Conv2dGeometry(3, 32, 32, 32, 64, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1)).Forward);
        var gen = new Generator(25);
        var net = new Sequential(new Conv2d(3, 32, 5, padding: 2, generator: gen), Activation(activation),
            new Conv2d(32, 64, 3, stride: 2, padding: 1, generator: gen), Activation(activation));
        var x = Tensor.Randn(gen, 3, 3, 32, 32);
        for (int i = 0; i < x.Numel; i += 11) x.Data[i] = 0f;
        var weights = Tensor.Randn(gen, 3, 64, 16, 16);
        AssertFusedAsLayers(net, x, weights, "ConvolutionActivationBackward", activation);
        net.Eval();
        using var noGrad = Autograd.NoGrad();
        net.Fuse = false;
        var layers = net.Forward(x).ToArray();
        net.Fuse = true;
        Assert.Equal(layers.Select(BitConverter.SingleToInt32Bits), net.Forward(x).ToArray().Select(BitConverter.SingleToInt32Bits));
    }

    // 3 → 16 stride 2 then a 2x2 average pool (whole windows), 16 → 20 (Winograd) then a 3x3 stride-2 padded max pool, 20 → 16
    // then a 3x3 stride-2 average pool in ceil mode without the padding counted, 16 → 16 then a 2x2 max pool: each pool after
    // the activation.
    private static Sequential PooledNet(string activation, Generator gen) => new(
        new Conv2d(3, 16, 3, stride: 2, padding: 1, generator: gen), Activation(activation), new AvgPool2d(2),
        new Conv2d(16, 20, 3, padding: 1, generator: gen), Activation(activation), new MaxPool2d(3, 2, 1),
        new Conv2d(20, 16, 3, padding: 1, generator: gen), Activation(activation), new AvgPool2d(3, 2, 1, ceilMode: true, countIncludePad: false),
        new Conv2d(16, 16, 3, padding: 1, bias: false, generator: gen), Activation(activation), new MaxPool2d(2));

    [Theory]
    [MemberData(nameof(Activations))]
    public void Training_activates_and_pools_in_the_convolution_with_the_layers_bits(string activation)
    {
        var gen = new Generator(23);
        var net = PooledNet(activation, gen);
        var x = Tensor.Randn(gen, 3, 3, 46, 42);
        for (int i = 0; i < x.Numel; i += 13) x.Data[i] = 0f;
        var weights = Tensor.Randn(gen, 3, 16, 1, 1);
        AssertFusedAsLayers(net, x, weights, "ConvolutionActivationPoolBackward", activation);
    }

    // The fused run (its last op the expected one) against the layers one by one: output and gradients, bit for bit, 2 and 1 threads.
    private static void AssertFusedAsLayers(Sequential net, Tensor x, Tensor weights, string fusedOp, string activation)
    {
        foreach (int threads in new[] { 2, 1 })
        {
            var (unfusedOut, unfusedGrads, _) = Step(net, x, weights, fuse: false, threads);
            var (fusedOut, fusedGrads, lastNode) = Step(net, x, weights, fuse: true, threads);
            Assert.Equal(fusedOp, lastNode);
            Assert.Equal(Bits(unfusedOut), Bits(fusedOut));
            Assert.Equal(unfusedGrads.Length, fusedGrads.Length);
            for (int i = 0; i < unfusedGrads.Length; i++)
                Assert.True(Bits(unfusedGrads[i]).SequenceEqual(Bits(fusedGrads[i])), $"{activation}, {threads} thread(s): gradient {i} differs");
        }
    }

    // One forward and backward of sum(net(x)·weights): the output, the gradients of x and of every parameter, and the name of
    // the op that made the last activation's input (the fused op, or the last convolution when the layers run one by one).
    private static (float[] Output, float[][] Grads, string LastNode) Step(Sequential net, Tensor x, Tensor weights, bool fuse, int threads)
    {
        net.Fuse = fuse;
        net.ZeroGrad();
        var input = x.Detach().RequiresGrad_();
        using var _ = ThreadCount.Use(threads);
        var y = net.Forward(input);
        var node = y.GradFn!.Name;
        if (!node.StartsWith("ConvolutionActivation", StringComparison.Ordinal)) node = y.GradFn.Inputs[0].GradFn!.Name;
        (y * weights).Sum().Backward();
        var grads = new[] { input.Grad!.ToArray() }.Concat(net.Parameters().Select(p => p.Grad!.ToArray())).ToArray();
        return (y.ToArray(), grads, node);
    }

    private static IEnumerable<int> Bits(float[] values) => values.Select(BitConverter.SingleToInt32Bits);
}
