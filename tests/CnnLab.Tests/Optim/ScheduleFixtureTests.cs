using System.Text.Json;
using CnnLab.Optim;
using CnnLab.Optim.Schedules;
using CnnLab.Tensors;
using Xunit;
using Xunit.Abstractions;

namespace CnnLab.Tests;

/// <summary>
/// Replays PyTorch 1.13's lr (and OneCycle momentum) sequences (tools/reference/make_optim_fixtures.py):
/// two groups (lr 0.1 and 0.05), 100 scheduler steps. The schedulers run in double with PyTorch's formulas
/// in PyTorch's order, so they agree to the last bit; the asserted tolerance is 1e-9 relative.
/// </summary>
public class ScheduleFixtureTests(ITestOutputHelper output)
{
    public static TheoryData<string> Cases() => new(Fixtures.Names("schedules"));

    private static int[] Ints(JsonElement a) => a.EnumerateArray().Select(x => x.GetInt32()).ToArray();
    private static double[] Doubles(JsonElement a) => a.EnumerateArray().Select(x => x.GetDouble()).ToArray();

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPyTorchLrSequence(string name)
    {
        var f = F64Fixtures.Load("schedules", name);
        var c = f.Config;
        var groups = new[] { new ParamGroup([Tensor.Zeros(3)]), new ParamGroup([Tensor.Zeros(2)], lr: 0.05) };
        Optimizer opt = c.GetProperty("optimizer").GetString() == "adam"
            ? new Adam(groups, lr: 0.1) : new SGD(groups, lr: 0.1, momentum: 0.9);
        double D(string k, double d) => c.TryGetProperty(k, out var v) ? v.GetDouble() : d;
        LRScheduler? s = null;
        ReduceLROnPlateau? plateau = null;
        switch (c.GetProperty("scheduler").GetString())
        {
            case "StepLR": s = new StepLR(opt, c.GetProperty("step_size").GetInt32(), D("gamma", 0.1)); break;
            case "MultiStepLR": s = new MultiStepLR(opt, Ints(c.GetProperty("milestones")), D("gamma", 0.1)); break;
            case "ExponentialLR": s = new ExponentialLR(opt, D("gamma", 0)); break;
            case "CosineAnnealingLR": s = new CosineAnnealingLR(opt, c.GetProperty("T_max").GetInt32(), D("eta_min", 0)); break;
            case "LinearLR": s = new LinearLR(opt, D("start_factor", 1.0 / 3), D("end_factor", 1), c.GetProperty("total_iters").GetInt32()); break;
            case "SequentialLR":
                var warm = new LinearLR(opt, D("warmup_start_factor", 0), totalIters: c.GetProperty("warmup_iters").GetInt32());
                var cos = new CosineAnnealingLR(opt, c.GetProperty("T_max").GetInt32());
                s = new SequentialLR(opt, [warm, cos], Ints(c.GetProperty("milestones")));
                break;
            case "OneCycleLR":
                s = new OneCycleLR(opt, Doubles(c.GetProperty("max_lr")), c.GetProperty("total_steps").GetInt32(), D("pct_start", 0.3),
                    c.GetProperty("anneal_strategy").GetString() == "linear" ? AnnealStrategy.Linear : AnnealStrategy.Cos,
                    c.GetProperty("cycle_momentum").GetBoolean(), D("base_momentum", 0.85), D("max_momentum", 0.95),
                    D("div_factor", 25), D("final_div_factor", 1e4), c.GetProperty("three_phase").GetBoolean());
                break;
            case "ReduceLROnPlateau":
                plateau = new ReduceLROnPlateau(opt, c.GetProperty("mode").GetString() == "max" ? PlateauMode.Max : PlateauMode.Min,
                    D("factor", 0.1), c.GetProperty("patience").GetInt32(), D("threshold", 1e-4),
                    c.GetProperty("threshold_mode").GetString() == "abs" ? ThresholdMode.Abs : ThresholdMode.Rel,
                    c.GetProperty("cooldown").GetInt32(), Doubles(c.GetProperty("min_lr")), D("eps", 1e-8));
                break;
        }
        var (_, lrs) = f.Tensors["lr"];
        var moms = f.Tensors.TryGetValue("momentum", out var m) ? m.Data : null;
        double worst = 0;
        for (int t = 0; t < 100; t++)
        {
            for (int g = 0; g < 2; g++)
            {
                double expected = lrs[t * 2 + g], actual = opt.ParamGroups[g].Lr;
                double rel = Math.Abs(actual - expected) / Math.Abs(expected);
                worst = Math.Max(worst, rel);
                Assert.True(rel <= 1e-9, $"{name}: step {t} group {g} lr {actual:R}, PyTorch {expected:R}");
                if (moms is not null)
                {
                    double em = moms[t * 2 + g], am = ((IMomentumOptions)opt.ParamGroups[g].Options).Momentum;
                    Assert.True(Math.Abs(am - em) <= 1e-9 * Math.Abs(em), $"{name}: step {t} group {g} momentum {am:R}, PyTorch {em:R}");
                }
            }
            if (plateau is not null) plateau.Step(f.Tensors["metrics"].Data[t]);
            else s!.Step();
        }
        output.WriteLine($"{name}: worst relative lr error {worst:G3}");
    }
}
