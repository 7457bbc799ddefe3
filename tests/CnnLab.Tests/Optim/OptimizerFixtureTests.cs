using System.Text.Json;
using CnnLab.Optim;
using CnnLab.Tensors;
using Xunit;
using Xunit.Abstractions;

namespace CnnLab.Tests;

/// <summary>
/// Replays PyTorch 1.13's optimizer trajectories (tools/reference/make_optim_fixtures.py): 25 steps on three
/// parameters, one of which has no gradient at steps 5-7. Tolerance: 1e-6 relative (plus 1e-7 absolute for
/// values that pass near zero). The kernels copy PyTorch's operation order and its CPU kernels' rounding
/// (FMA in add-with-alpha and addcmul), so in practice the trajectories agree bit for bit; the tolerance
/// leaves room for a PyTorch build whose kernels round differently (e.g. without FMA), which moves a
/// parameter by a few float32 ulps (≈1e-7 relative) over 25 steps.
/// </summary>
public class OptimizerFixtureTests(ITestOutputHelper output)
{
    public static TheoryData<string> Cases() => new(Fixtures.Names("optim"));

    internal static Optimizer Build(JsonElement config, IEnumerable<Tensor> ps)
    {
        var kw = config.GetProperty("kwargs");
        double D(string k, double d) => kw.TryGetProperty(k, out var v) ? v.GetDouble() : d;
        bool B(string k) => kw.TryGetProperty(k, out var v) && v.GetBoolean();
        (double, double)? betas = kw.TryGetProperty("betas", out var b) ? (b[0].GetDouble(), b[1].GetDouble()) : null;
        return config.GetProperty("optimizer").GetString() switch
        {
            "SGD" => new SGD(ps, D("lr", 0), D("momentum", 0), D("dampening", 0), B("nesterov"), D("weight_decay", 0), B("maximize")),
            "Adam" => new Adam(ps, D("lr", 1e-3), betas, D("eps", 1e-8), D("weight_decay", 0), B("amsgrad"), B("maximize")),
            "AdamW" => new AdamW(ps, D("lr", 1e-3), betas, D("eps", 1e-8), D("weight_decay", 1e-2), B("amsgrad"), B("maximize")),
            "RMSprop" => new RMSprop(ps, D("lr", 1e-2), D("alpha", 0.99), D("eps", 1e-8), D("weight_decay", 0), D("momentum", 0), B("centered"),
                B("maximize")),
            var o => throw new ArgumentException($"unknown optimizer {o}"),
        };
    }

    internal static Tensor Row(Tensor stacked, int t)
    {
        var shape = stacked.Shape[1..];
        var r = new Tensor(shape);
        stacked.Data.Slice(t * r.Numel, r.Numel).CopyTo(r.Data);
        return r;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPyTorchAtEveryStep(string name)
    {
        var c = Fixtures.Load("optim", name);
        var config = Fixtures.Config(c);
        int count = c.Tensors.Keys.Count(k => k.StartsWith('p'));
        var ps = Enumerable.Range(0, count).Select(j => Row(c.Tensors[$"p{j}"], 0).RequiresGrad_()).ToList();
        var opt = Build(config, ps);
        double worst = 0;
        for (int t = 0; t < 25; t++)
        {
            for (int j = 0; j < count; j++)
                ps[j].Grad = c.Tensors[$"mask{j}"].Data[t] > 0 ? Row(c.Tensors[$"g{j}"], t) : null;
            opt.Step();
            for (int j = 0; j < count; j++)
            {
                var expected = Row(c.Tensors[$"p{j}"], t + 1);
                Fixtures.AssertClose(expected, ps[j], rtol: 1e-6, atol: 1e-7, what: $"{name} step {t + 1} p{j}",
                    generator: "tools/reference/make_optim_fixtures.py");
                for (int i = 0; i < expected.Numel; i++)
                    worst = Math.Max(worst, Math.Abs(ps[j].Data[i] - expected.Data[i]) / Math.Max(Math.Abs(expected.Data[i]), 1e-30));
            }
        }
        output.WriteLine($"{name}: worst relative error {worst:G3}");
        Assert.Equal(22, opt.StateOf(ps[2])!.Step);   // three skipped steps did not advance its state
    }
}
