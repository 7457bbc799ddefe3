using CnnLab.Init;
using CnnLab.Kernels;
using CnnLab.Nn;
using CnnLab.Nn.Models;
using CnnLab.Tensors;
using Xunit;
using static CnnLab.Tests.FreezeTests;

namespace CnnLab.Tests;

/// <summary>
/// Eval mode without a freeze: what inference prepares from a module's parameters and buffers (packed convolution weights,
/// folded batch norms) is checked once after each write the library makes or sees, and on every call once a tensor's
/// storage was handed out (Data, Storage, or an array of the caller's), so every write is seen and none costs a compare
/// per call where the library knows of it.
/// </summary>
public class EvalWritesTests
{
    // A zoo model with its batch norms away from their defaults, written through the library (initializers), so that no
    // storage is handed out.
    private static Module Model(string name, long seed)
    {
        var gen = new Generator(seed);
        var net = ModelZoo.Create(name, gen);
        foreach (var (key, t) in net.StateDict())
            if (key.EndsWith("running_mean", StringComparison.Ordinal)) Initializers.Normal(t, 0, 0.5, gen);
            else if (key.EndsWith("running_var", StringComparison.Ordinal)) Initializers.Uniform(t, 0.5, 1.5, gen);
            else if (key.EndsWith("weight", StringComparison.Ordinal) && t.Rank == 1) Initializers.Normal(t, 1, 0.3, gen);
        return net;
    }

    private static Parameter LastConvWeight(Module net) => net.NamedParameters().Last(p => p.Parameter.Rank == 4).Parameter;

    public static TheoryData<string> Names => FreezeTests.Names;

    [Fact]
    public void Parameters_and_buffers_are_trusted_until_their_storage_is_handed_out()
    {
        var net = Model("cnn-bn", 1);
        Assert.All(net.StateDict().Values, t => Assert.NotEqual(0, t.TrustedEpoch));
        var weights = net.NamedParameters().Where(p => p.Parameter.Rank == 4).Select(p => p.Parameter).ToArray();
        Assert.True(weights.Length >= 2);

        _ = weights[0].Values[0] + weights[0].ToArray()[0] + weights[0][0, 0, 0, 0];   // reads hand nothing out
        Assert.NotEqual(0, weights[0].TrustedEpoch);
        _ = weights[0].Data;
        Assert.Equal(0, weights[0].TrustedEpoch);
        _ = weights[1].Reshape(-1).Data;   // a view's span writes its source's storage
        Assert.Equal(0, weights[1].TrustedEpoch);
        var bias = net.NamedParameters().First(p => p.Parameter.Rank == 1).Parameter;
        _ = bias.Storage;
        Assert.Equal(0, bias.TrustedEpoch);

        // A parameter made from a tensor shares its storage: the tensor's span hands out the parameter's too.
        var source = Tensor.Zeros(4);
        var made = new Parameter(source);
        made.WatchWrites();
        Assert.NotEqual(0, made.TrustedEpoch);
        _ = source.Data;
        Assert.Equal(0, made.TrustedEpoch);
        // One around the caller's array is handed out from the start; a tensor no module holds is never trusted.
        var wrapped = new Parameter(new Tensor(new float[4], 4));
        wrapped.WatchWrites();
        Assert.Equal(0, wrapped.TrustedEpoch);
        Assert.Equal(0, Tensor.Zeros(4).TrustedEpoch);
    }

    [Fact]
    public void Every_write_the_library_makes_gives_a_new_epoch_and_reads_do_not()
    {
        var net = Model("cnn-bn", 2);
        var weight = LastConvWeight(net);
        var runningVar = net.NamedBuffers().First(b => b.Name.EndsWith("running_var", StringComparison.Ordinal)).Buffer;
        long Renewed(Tensor t, Action write)
        {
            long before = t.TrustedEpoch;
            write();
            Assert.NotEqual(0, t.TrustedEpoch);
            Assert.NotEqual(before, t.TrustedEpoch);
            return t.TrustedEpoch;
        }
        var x = Tensor.Randn(new Generator(3), 2, 1, 28, 28);
        net.Eval();
        long epoch = weight.TrustedEpoch;
        Run(net, x);
        Assert.Equal(epoch, weight.TrustedEpoch);
        Renewed(weight, () => Step(net, 0.1));
        Renewed(weight, () => net.LoadStateDict(Model("cnn-bn", 4).StateDict()));
        Renewed(weight, () => Initializers.KaimingUniform(weight, generator: new Generator(5)));
        Renewed(weight, () => weight[0, 0, 0, 0] = 0.25f);
        Renewed(runningVar, () => net.Train().Forward(x));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void An_eval_model_sees_every_write_the_library_makes(string name)
    {
        var net = Model(name, 6);
        var x = Tensor.Randn(new Generator(7), 1, 1, 28, 28);
        net.Eval();
        var before = Run(net, x);
        Assert.Equal(before, Run(net, x));
        Step(net, 1.0);
        var stepped = Run(net, x);
        Assert.NotEqual(before, stepped);
        Assert.Equal(Fresh(name, net, x), stepped);

        net.LoadStateDict(Model(name, 8).StateDict());
        Assert.Equal(Fresh(name, net, x), Run(net, x));
        Initializers.KaimingUniform(LastConvWeight(net), generator: new Generator(9));
        Assert.Equal(Fresh(name, net, x), Run(net, x));
        LastConvWeight(net)[0, 0, 0, 0] += 0.5f;
        Assert.Equal(Fresh(name, net, x), Run(net, x));

        // A training forward moves the running statistics (where there are batch norms) that eval then folds.
        using (Autograd.NoGrad()) net.Train().Forward(Tensor.Randn(new Generator(10), 4, 1, 28, 28));
        net.Eval();
        Assert.Equal(Fresh(name, net, x), Run(net, x));
        Assert.All(net.StateDict().Values, t => Assert.NotEqual(0, t.TrustedEpoch));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void An_eval_model_sees_writes_through_spans_and_arrays_taken_before_it_ran(string name)
    {
        var net = Model(name, 11);
        var x = Tensor.Randn(new Generator(12), 1, 1, 28, 28);
        net.Eval();
        var weight = LastConvWeight(net);
        var span = weight.Data;
        var array = net.NamedParameters().First(p => p.Parameter.Rank == 4).Parameter.Storage;
        var view = net.NamedBuffers().LastOrDefault(b => b.Name.EndsWith("running_var", StringComparison.Ordinal)).Buffer?.Reshape(-1);
        var viewSpan = view is null ? default : view.Data;
        var before = Run(net, x);
        Assert.Equal(before, Run(net, x));

        span[0] += 0.5f;
        var written = Run(net, x);
        Assert.NotEqual(before, written);
        Assert.Equal(Fresh(name, net, x), written);
        array[1] -= 0.5f;
        Assert.Equal(Fresh(name, net, x), Run(net, x));
        if (view is not null)
        {
            viewSpan[0] *= 3f;
            Assert.Equal(Fresh(name, net, x), Run(net, x));
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void A_frozen_model_sees_library_writes_through_a_view_or_a_tied_parameter(string name)
    {
        // The freeze is kept by the storage's owner: a write the library makes through another tensor on the same storage
        // (a view, a parameter made from this one) renews it for every tensor there.
        var net = Model(name, 16);
        var x = Tensor.Randn(new Generator(17), 1, 1, 28, 28);
        var weight = LastConvWeight(net);
        var tied = new Parameter(weight);
        net.Freeze();
        var before = Run(net, x);
        weight.Reshape(weight.Shape)[0, 0, 0, 0] = weight.Values[0] + 0.5f;   // a view with the same shape
        var viaView = Run(net, x);
        Assert.NotEqual(before, viaView);
        Assert.Equal(Fresh(name, net, x), viaView);
        Initializers.KaimingUniform(tied, generator: new Generator(18));
        Assert.Equal(Fresh(name, net, x), Run(net, x));
        Assert.True(net.IsFrozen);
    }

    [Fact]
    public void A_trusted_epoch_saves_the_compare_and_a_new_one_makes_a_new_plan()
    {
        // A write the library neither makes nor sees (Elements is its own access) is not looked for while the epoch holds:
        // that is the compare saved on every call. The plan made after a reported write has the new values.
        var conv = new Conv2d(16, 16, 3, padding: 1, generator: new Generator(13));
        var g = new Conv2dGeometry(1, 16, 10, 10, 16, 3, 3, PH: 1, PW: 1);
        var algorithm = ConvPlanner.Plan(g, weightsKept: true).Forward;
        var w = conv.Weight;
        var plan = ConvPlanCache.Get(g, new CachedWeights(w.Buffer, w.TrustedEpoch), w.Elements, algorithm);
        w.Elements[0] += 1f;
        Assert.Same(plan, ConvPlanCache.Get(g, new CachedWeights(w.Buffer, w.TrustedEpoch), w.Elements, algorithm));
        w.NoteWrite();
        Assert.NotSame(plan, ConvPlanCache.Get(g, new CachedWeights(w.Buffer, w.TrustedEpoch), w.Elements, algorithm));
        var handedOut = conv.Weight.Data;
        var kept = ConvPlanCache.Get(g, new CachedWeights(w.Buffer, w.TrustedEpoch), w.Elements, algorithm);
        handedOut[0] += 1f;
        Assert.NotSame(kept, ConvPlanCache.Get(g, new CachedWeights(w.Buffer, w.TrustedEpoch), w.Elements, algorithm));
    }

    [Fact]
    public void A_folded_batch_norm_is_refolded_after_a_reported_write_and_not_compared_before()
    {
        var net = Model("cnn-bn", 14);
        var x = Tensor.Randn(new Generator(15), 1, 1, 28, 28);
        net.Eval();
        var before = Run(net, x);
        var runningVar = net.NamedBuffers().First(b => b.Name.EndsWith("running_var", StringComparison.Ordinal)).Buffer;
        runningVar.Elements[0] *= 3f;   // unreported: the fold is trusted, as it would be frozen
        Assert.Equal(before, Run(net, x));
        runningVar.NoteWrite();
        var refolded = Run(net, x);
        Assert.NotEqual(before, refolded);
        Assert.Equal(Fresh("cnn-bn", net, x), refolded);
    }
}
