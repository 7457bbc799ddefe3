using CnnLab.Nn;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// Under no-grad the fusion pass hands a Sequential's intermediates back to the CachingAllocator as soon as the next step
/// has read them (FusionPlan). A tensor anyone else can still hold must keep its values: one a hook saw, one a module of
/// the user's own kept, the input and the output, and a view the next step returns.
/// </summary>
public class InferenceRecyclingTests
{
    private static Sequential Net(Generator gen, Module? extra = null)
    {
        var layers = new List<Module>
        {
            new Conv2d(3, 16, 3, padding: 1, generator: gen), new LeakyReLU(0.1f), new Conv2d(16, 16, 3, padding: 1, generator: gen),
            new ReLU(), new MaxPool2d(2), new Conv2d(16, 32, 3, padding: 1, generator: gen), new GELU(),
        };
        if (extra is not null) layers.Add(extra);
        layers.AddRange([new Flatten(), new Linear(32 * 10 * 10, 10, generator: gen)]);
        var net = new Sequential([.. layers]);
        net.Eval();
        return net;
    }

    // The layers one by one, with no fusion pass (and so nothing recycled): the values every check compares with (no batch
    // norm in the net: folding it would round differently).
    private static float[] Unfused(Sequential net, Tensor x)
    {
        Sequential.SetFusion(net, false);
        try
        {
            using var _ = Autograd.NoGrad();
            return net.Forward(x).Data.ToArray();
        }
        finally
        {
            Sequential.SetFusion(net, true);
        }
    }

    [Fact]
    public void A_tensor_a_hook_kept_and_the_output_keep_their_values_through_later_forwards()
    {
        var gen = new Generator(21);
        var net = Net(gen);
        var (x, other) = (Tensor.Randn(gen, 3, 3, 20, 20), Tensor.Randn(gen, 3, 3, 20, 20));
        // One hook keeps the output of a step's last layer (conv → LeakyReLU), one the input of a step's first layer (the pool's
        // output, going into conv → GELU): both cross a step boundary, where the pass would otherwise recycle.
        Tensor? output = null, input = null;
        using (net[1].RegisterForwardHook((m, i, o) => { output ??= o; }))
        using (net[5].RegisterForwardHook((m, i, o) => { input ??= i; }))
        {
            using (Autograd.NoGrad())
            {
                var y = net.Forward(x);
                var (outputValues, inputValues, expected) = (output!.Data.ToArray(), input!.Data.ToArray(), y.Data.ToArray());
                for (int i = 0; i < 5; i++) net.Forward(other);
                Assert.Equal(expected, y.Data.ToArray());
                Assert.Equal(outputValues, output.Data.ToArray());
                Assert.Equal(inputValues, input.Data.ToArray());
                Assert.Equal(Unfused(net, x), expected);
            }
        }
    }

    [Fact]
    public void Forwards_without_hooks_give_the_unfused_values_again_and_again()
    {
        var gen = new Generator(22);
        var net = Net(gen);
        var inputs = Enumerable.Range(0, 4).Select(_ => Tensor.Randn(gen, 2, 3, 20, 20)).ToArray();
        var expected = inputs.Select(x => Unfused(net, x)).ToArray();
        using (Autograd.NoGrad())
            for (int round = 0; round < 3; round++)
                for (int i = 0; i < inputs.Length; i++)
                {
                    var before = inputs[i].Data.ToArray();
                    Assert.Equal(expected[i], net.Forward(inputs[i]).Data.ToArray());
                    Assert.Equal(before, inputs[i].Data.ToArray());
                }
    }

    [Fact]
    public void A_residual_network_gives_the_same_output_between_other_forwards()
    {
        // Residual blocks: the shortcut reads the block's input after the body's steps have run (and recycled theirs).
        var gen = new Generator(24);
        var net = (Sequential)CnnLab.Nn.Models.ModelZoo.Create("resnet-mini", gen);
        net.Eval();
        var (x, other) = (Tensor.Randn(gen, 2, 1, 28, 28), Tensor.Randn(gen, 3, 1, 28, 28));
        var unfused = Unfused(net, x);
        using (Autograd.NoGrad())
        {
            var first = net.Forward(x).Data.ToArray();
            for (int i = 0; i < 3; i++) net.Forward(other);
            Assert.Equal(first, net.Forward(x).Data.ToArray());
            // The batch norms are folded only when fused, which rounds differently.
            float scale = unfused.Max(MathF.Abs);
            for (int i = 0; i < first.Length; i++) Assert.True(MathF.Abs(first[i] - unfused[i]) <= 1e-4f * scale, $"output {i}");
        }
    }

    [Fact]
    public void A_hook_inside_a_block_keeps_the_block_input_it_saw()
    {
        // The hook sits on the first layer inside a residual block, so it sees the block's input: an intermediate of the
        // outer Sequential, which the pass must then leave alone.
        var gen = new Generator(25);
        var net = (Sequential)CnnLab.Nn.Models.ModelZoo.Create("resnet-mini", gen);
        net.Eval();
        var block = net.NamedModules().Select(m => m.Module).OfType<Residual>().Skip(1).First();
        var inner = ((Sequential)block.Body)[0];
        var (x, other) = (Tensor.Randn(gen, 2, 1, 28, 28), Tensor.Randn(gen, 2, 1, 28, 28));
        Tensor? seen = null;
        using (inner.RegisterForwardHook((m, i, o) => { seen ??= i; }))
        using (Autograd.NoGrad())
        {
            net.Forward(x);
            var values = seen!.Data.ToArray();
            for (int i = 0; i < 3; i++) net.Forward(other);
            Assert.Equal(values, seen.Data.ToArray());
        }
    }

    // A module of the user's own, which keeps what it was given: the pass cannot know, so it recycles nothing in that Sequential.
    private sealed class Keeper : Module
    {
        public Tensor? Last;

        protected override Tensor ForwardCore(Tensor input) => Last = input;
    }

    [Fact]
    public void A_module_of_the_users_own_keeps_what_it_was_given()
    {
        var gen = new Generator(23);
        var keeper = new Keeper();
        var net = Net(gen, keeper);
        var (x, other) = (Tensor.Randn(gen, 3, 3, 20, 20), Tensor.Randn(gen, 3, 3, 20, 20));
        using (Autograd.NoGrad())
        {
            net.Forward(x);
            var first = keeper.Last!;
            var values = first.Data.ToArray();
            for (int i = 0; i < 5; i++) net.Forward(other);
            Assert.Equal(values, first.Data.ToArray());
        }
    }
}
