using CnnLab.Init;
using CnnLab.Nn;
using CnnLab.Nn.Models;
using CnnLab.Optim;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// Module.Freeze: eval mode whose prepared weights (convolution plans, folded batch norms) are checked once per freeze.
/// Every write the library makes is still seen; a write through Data is seen once the model is unfrozen or frozen again.
/// </summary>
public class FreezeTests
{
    // A zoo model with its batch norms away from their defaults (so a folded batch norm differs from the identity).
    private static Module Model(string name, long seed)
    {
        var gen = new Generator(seed);
        var net = ModelZoo.Create(name, gen);
        FusionPlanTests.Perturb(net, gen);
        return net;
    }

    internal static float[] Run(Module net, Tensor x)
    {
        using (Autograd.NoGrad()) return net.Forward(x).Data.ToArray();
    }

    // What a fresh eval model with net's current values gives: the reference for what net must give.
    internal static float[] Fresh(string name, Module net, Tensor x)
    {
        var fresh = Model(name, 99);
        fresh.LoadStateDict(net.StateDict());
        fresh.Eval();
        return Run(fresh, x);
    }

    public static TheoryData<string> Names => new(["cnn-bn", "resnet-mini", "cnn-small"]);

    // An SGD step on gradients of 0.01 everywhere: every parameter written through the optimizer.
    internal static void Step(Module net, double lr)
    {
        foreach (var p in net.Parameters()) p.Grad = Tensor.Full(0.01f, p.Shape);
        new SGD(net.Parameters(), lr: lr).Step();
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void A_frozen_model_gives_the_eval_models_bits_at_any_batch(string name)
    {
        var net = Model(name, 1);
        var gen = new Generator(2);
        foreach (int batch in new[] { 1, 3, 1 })
        {
            var x = Tensor.Randn(gen, batch, 1, 28, 28);
            net.Eval();
            var eval = Run(net, x);
            net.Freeze();
            Assert.True(net.IsFrozen);
            Assert.Equal(eval, Run(net, x));
            Assert.Equal(eval, Run(net, x));
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void A_write_through_Data_is_seen_after_Unfreeze_or_a_new_Freeze(string name)
    {
        var net = Model(name, 3);
        var x = Tensor.Randn(new Generator(4), 2, 1, 28, 28);
        net.Freeze();
        var before = Run(net, x);
        // The last convolution's first weight (a cached plan, or folded), and (where there is one) a batch norm's running variance.
        var conv = net.NamedParameters().Last(p => p.Parameter.Rank == 4).Parameter;
        conv.Data[0] += 0.5f;
        foreach (var (key, buffer) in net.NamedBuffers().Where(b => b.Name.EndsWith("running_var", StringComparison.Ordinal)).Take(1))
            buffer.Data[0] *= 3f;
        // The promise was broken: the frozen model still runs its prepared weights, as documented (this is what saves the compare).
        Assert.Equal(before, Run(net, x));
        var expected = Fresh(name, net, x);
        Assert.NotEqual(before, expected);
        net.Unfreeze();
        Assert.False(net.IsFrozen);
        Assert.Equal(expected, Run(net, x));

        net.Freeze();
        conv.Data[1] -= 0.5f;
        net.Freeze();   // frozen again after the write: checked once more
        Assert.Equal(Fresh(name, net, x), Run(net, x));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void An_optimizer_step_a_loaded_state_dict_and_an_initializer_are_seen_while_frozen(string name)
    {
        var net = Model(name, 5);
        var x = Tensor.Randn(new Generator(6), 1, 1, 28, 28);
        net.Freeze();
        var before = Run(net, x);
        Step(net, 1.0);
        Assert.True(net.IsFrozen);
        var stepped = Run(net, x);
        Assert.NotEqual(before, stepped);
        Assert.Equal(Fresh(name, net, x), stepped);

        net.LoadStateDict(Model(name, 7).StateDict());
        Assert.Equal(Fresh(name, net, x), Run(net, x));

        var before2 = Run(net, x);
        Initializers.KaimingUniform(net.NamedParameters().Last(p => p.Parameter.Rank == 4).Parameter, generator: new Generator(8));
        var initialized = Run(net, x);
        Assert.NotEqual(before2, initialized);
        Assert.Equal(Fresh(name, net, x), initialized);
    }

    [Fact]
    public void Training_ends_a_freeze_and_Freeze_sets_eval_mode()
    {
        var net = Model("cnn-bn", 8);
        net.Train();
        net.Freeze();
        Assert.False(net.Training);
        Assert.True(net.IsFrozen);
        net.Train();
        Assert.False(net.IsFrozen);
        Assert.All(net.StateDict().Values, t => Assert.Equal(0, t.FrozenEpoch));
    }
}
