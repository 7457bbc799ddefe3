using CnnLab.Kernels;
using CnnLab.Nn;
using CnnLab.Optim;
using CnnLab.Optim.Schedules;
using CnnLab.Serialization;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

public class OptimizerTests
{
    private static List<Tensor> Params(int seed)
    {
        var gen = new Generator(seed);
        return [Tensor.Randn(gen, 4, 5), Tensor.Randn(gen, 7), Tensor.Randn(gen, 2, 3, 6)];
    }

    private static void SetGrads(List<Tensor> ps, int t)
    {
        var gen = new Generator(100 + t);
        foreach (var p in ps) p.Grad = Tensor.Randn(gen, p.Shape);
        if (t % 4 == 3) ps[1].Grad = null;
    }

    public static TheoryData<string> OptimizerKinds() =>
        new(["sgd", "sgd_nesterov", "adam", "adam_amsgrad", "adamw", "adamw_schedule", "rmsprop", "rmsprop_all"]);

    private static Optimizer Make(string kind, List<Tensor> ps) => kind switch
    {
        "sgd" => new SGD(ps, lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 0.01),
        "sgd_nesterov" => new SGD(ps, lr: 0.05, momentum: 0.9, nesterov: true),
        "adam" => new Adam(ps, lr: 0.01, weightDecay: 0.1),
        "adam_amsgrad" => new Adam(ps, lr: 0.01, amsgrad: true, maximize: true),
        "adamw" => new AdamW(ps, lr: 0.01),
        "adamw_schedule" => new AdamW(WeightDecayGroups.Split(ps.Select((p, i) => ($"p{i}", p)), 0.1), lr: 0.01,
            decay: DecoupledDecay.ScheduleScaled),
        "rmsprop" => new RMSprop(ps),
        _ => new RMSprop(ps, momentum: 0.5, centered: true, weightDecay: 0.1),
    };

    [Theory]
    [MemberData(nameof(OptimizerKinds))]
    public void ResumeFromStateDictIsBitExact(string kind)
    {
        var straight = Params(1);
        var a = Make(kind, straight);
        var schedA = new StepLR(a, stepSize: 3, gamma: 0.5);
        for (int t = 0; t < 20; t++) { SetGrads(straight, t); a.Step(); schedA.Step(); }

        var first = Params(1);
        var b = Make(kind, first);
        var schedB = new StepLR(b, stepSize: 3, gamma: 0.5);
        for (int t = 0; t < 10; t++) { SetGrads(first, t); b.Step(); schedB.Step(); }
        // checkpoint: parameters and optimizer state through a safetensors file and JSON, as a checkpoint writer would
        var sd = b.StateDict();
        using var ms = new MemoryStream();
        SafeTensors.Write(ms, sd.ToTensors());
        var restoredState = OptimizerStateDict.FromTensors(SafeTensors.Parse(ms.ToArray(), "memory").Tensors, sd.ParamGroupsToJson());

        var resumed = first.Select(p => p.Clone()).ToList();
        var c = Make(kind, resumed);
        c.LoadStateDict(restoredState);
        // as in PyTorch, a scheduler built with lastEpoch = k takes its initial step to epoch k + 1, from the restored lr
        var schedC = new StepLR(c, stepSize: 3, gamma: 0.5, lastEpoch: schedB.LastEpoch - 1);
        Assert.Equal(schedB.LastLr, schedC.LastLr);
        for (int t = 10; t < 20; t++) { SetGrads(resumed, t); c.Step(); schedC.Step(); }

        for (int j = 0; j < straight.Count; j++)
            Assert.Equal(straight[j].ToArray(), resumed[j].ToArray());
    }

    [Fact]
    public void StateDictUsesPyTorchKeys()
    {
        var ps = Params(2);
        var opt = new Adam(ps, amsgrad: true);
        foreach (var p in ps) p.Grad = p.Clone();
        opt.Step();
        var keys = opt.StateDict().ToTensors().Select(kv => kv.Key).ToList();
        Assert.Contains("state.0.step", keys);
        Assert.Contains("state.2.exp_avg", keys);
        Assert.Contains("state.1.exp_avg_sq", keys);
        Assert.Contains("state.1.max_exp_avg_sq", keys);
        var group = opt.StateDict().ParamGroups[0];
        Assert.Equal(new[] { 0.9, 0.999 }, (double[])group["betas"]);
        Assert.Equal(new[] { 0, 1, 2 }, (int[])group["params"]);
        Assert.Equal(1e-3, (double)group["lr"]);
        Assert.Contains("\"weight_decay\":0", opt.StateDict().ParamGroupsToJson());
    }

    [Fact]
    public void LoadStateDictRejectsMismatchedGroups()
    {
        var opt = new SGD(Params(3), lr: 0.1);
        var other = new SGD(Params(3).Take(2), lr: 0.1);
        var e = Assert.Throws<ArgumentException>(() => opt.LoadStateDict(other.StateDict()));
        Assert.Contains("doesn't match the size of optimizer's group", e.Message);
    }

    [Fact]
    public void DefaultsEqualPyTorch()
    {
        var sgd = (SGDOptions)new SGD(Params(4), lr: 0.1).Defaults;
        Assert.Equal((0.1, 0.0, 0.0, false, 0.0, false), (sgd.Lr, sgd.Momentum, sgd.Dampening, sgd.Nesterov, sgd.WeightDecay, sgd.Maximize));
        var adam = (AdamOptions)new Adam(Params(4)).Defaults;
        Assert.Equal((1e-3, 0.9, 0.999, 1e-8, 0.0, false, false),
            (adam.Lr, adam.Beta1, adam.Beta2, adam.Eps, adam.WeightDecay, adam.Amsgrad, adam.Maximize));
        var adamw = (AdamWOptions)new AdamW(Params(4)).Defaults;
        Assert.Equal((1e-3, 0.9, 0.999, 1e-8, 1e-2, false, false),
            (adamw.Lr, adamw.Beta1, adamw.Beta2, adamw.Eps, adamw.WeightDecay, adamw.Amsgrad, adamw.Maximize));
        Assert.Equal(DecoupledDecay.LrScaled, adamw.Decay);
        var rms = (RMSpropOptions)new RMSprop(Params(4)).Defaults;
        Assert.Equal((1e-2, 0.99, 1e-8, 0.0, 0.0, false, false),
            (rms.Lr, rms.Alpha, rms.Eps, rms.WeightDecay, rms.Momentum, rms.Centered, rms.Maximize));
    }

    [Fact]
    public void InvalidArgumentsGivePyTorchMessages()
    {
        var ps = Params(5);
        Assert.Equal("Invalid learning rate: -1", Assert.Throws<ArgumentException>(() => new SGD(ps, lr: -1)).Message);
        Assert.Equal("Invalid momentum value: -0.5", Assert.Throws<ArgumentException>(() => new SGD(ps, lr: 0.1, momentum: -0.5)).Message);
        Assert.Equal("Invalid weight_decay value: -0.1", Assert.Throws<ArgumentException>(() => new SGD(ps, lr: 0.1, weightDecay: -0.1)).Message);
        Assert.Equal("Nesterov momentum requires a momentum and zero dampening",
            Assert.Throws<ArgumentException>(() => new SGD(ps, lr: 0.1, nesterov: true)).Message);
        Assert.Equal("Nesterov momentum requires a momentum and zero dampening",
            Assert.Throws<ArgumentException>(() => new SGD(ps, lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true)).Message);
        Assert.Equal("Invalid learning rate: -0.001", Assert.Throws<ArgumentException>(() => new Adam(ps, lr: -0.001)).Message);
        Assert.Equal("Invalid epsilon value: -1e-08", Assert.Throws<ArgumentException>(() => new Adam(ps, eps: -1e-8)).Message);
        Assert.Equal("Invalid beta parameter at index 0: 1", Assert.Throws<ArgumentException>(() => new Adam(ps, betas: (1.0, 0.999))).Message);
        Assert.Equal("Invalid beta parameter at index 1: -0.5", Assert.Throws<ArgumentException>(() => new AdamW(ps, betas: (0.9, -0.5))).Message);
        Assert.Equal("Invalid alpha value: -0.99", Assert.Throws<ArgumentException>(() => new RMSprop(ps, alpha: -0.99)).Message);
        Assert.Equal("Invalid momentum value: -1", Assert.Throws<ArgumentException>(() => new RMSprop(ps, momentum: -1)).Message);
        Assert.Equal("some parameters appear in more than one parameter group",
            Assert.Throws<ArgumentException>(() => new SGD([new ParamGroup(ps), new ParamGroup([ps[0]])], lr: 0.1)).Message);
        Assert.Equal("optimizer got an empty parameter list",
            Assert.Throws<ArgumentException>(() => new SGD(Array.Empty<Tensor>(), lr: 0.1)).Message);
    }

    [Fact]
    public void DecoupledDecayShrinksByExactlyOneMinusLrLambdaWhileAdamL2MovesByAboutLr()
    {
        const double lr = 1e-3;
        foreach (double lambda in new[] { 1e-2, 1e-1, 1.0 })
        {
            // zero loss gradient: only the decay acts
            var w = Tensor.Full(2f, 1);
            var adamw = new AdamW([w], lr: lr, weightDecay: lambda);
            float shrink = (float)(1 - lr * lambda);
            for (int t = 0; t < 10; t++)
            {
                float before = w.Data[0];
                w.Grad = Tensor.Zeros(1);
                adamw.Step();
                Assert.Equal(before * shrink, w.Data[0]);   // exactly (1 - lr·λ), bit for bit
            }

            var v = Tensor.Full(2f, 1);
            var adam = new Adam([v], lr: lr, weightDecay: lambda);
            for (int t = 0; t < 10; t++)
            {
                float before = v.Data[0];
                v.Grad = Tensor.Zeros(1);
                adam.Step();
                // g = λ·w is normalized away: m̂/√v̂ = 1, so the weight moves by lr whatever λ is
                Assert.InRange(before - v.Data[0], 0.999 * lr, 1.001 * lr);
            }
        }
    }

    [Fact]
    public void ScheduleScaledDecayUsesOnlyTheScheduleMultiplier()
    {
        var w = Tensor.Full(1f, 1);
        var opt = new AdamW([w], lr: 1e-3, weightDecay: 1e-2, decay: DecoupledDecay.ScheduleScaled);
        var sched = new StepLR(opt, stepSize: 1, gamma: 0.5);
        w.Grad = Tensor.Zeros(1);
        opt.Step();                             // η = 1: shrink by 1 - λ
        Assert.Equal((float)(1 - 1e-2), w.Data[0]);
        sched.Step();                           // lr halves: η = 0.5
        float before = w.Data[0];
        opt.Step();
        Assert.Equal(before * (float)(1 - 0.5 * 1e-2), w.Data[0]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void KernelsMatchTheirScalarTwinsBitForBit(bool only256)
    {
        // Two threads: buffers from 2^16 floats are updated in ranges on both (the last sizes). With only256
        // the 256-bit instance of each vector loop runs (sizes below 2^16) where AVX-512 would.
        using var threads = ThreadCount.Use(2);
        if (only256 && !System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated) return;
        bool use512 = !only256 && System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated;
        Check(only256 ? Enumerable.Range(0, 71).Append(4099) : Enumerable.Range(0, 71).Concat([(1 << 16) + 5, 3 * (1 << 14) + (1 << 16) + 17]),
            use512);
    }

    private static void Check(IEnumerable<int> sizes, bool use512)
    {
        var gen = new Generator(7);
        foreach (int n in sizes)
        {
            float[] R() { var a = new float[n]; gen.FillNormal(a, 0, 1); return a; }
            float[] Pos() { var a = new float[n]; gen.FillUniform(a, 0.1f, 2f); return a; }
            var g = R();
            foreach (bool flag in new[] { false, true })
            {
                var (p1, b1) = (R(), R());
                var (p2, b2) = ((float[])p1.Clone(), (float[])b1.Clone());
                OptimizerKernels.SgdWithWidth(use512, p1, g, b1, 0.01f, 0.9f, 0.9f, -0.1f, flag, !flag, false);
                OptimizerKernels.SgdReference(p2, g, b2, 0.01f, 0.9f, 0.9f, -0.1f, flag, !flag, false);
                Assert.Equal(p2, p1); Assert.Equal(b2, b1);

                var (q1, m1, v1, x1) = (R(), R(), Pos(), Pos());
                var (q2, m2, v2, x2) = ((float[])q1.Clone(), (float[])m1.Clone(), (float[])v1.Clone(), (float[])x1.Clone());
                OptimizerKernels.AdamWithWidth(use512, q1, g, m1, v1, x1, 0.999f, flag ? 0.1f : 0f, flag, 0.9f, 0.1f, 0.999f, 0.001f, 0.3f,
                    1e-8f, -0.01f, flag);
                OptimizerKernels.AdamReference(q2, g, m2, v2, x2, 0.999f, flag ? 0.1f : 0f, flag, 0.9f, 0.1f, 0.999f, 0.001f, 0.3f, 1e-8f, -0.01f,
                    flag);
                Assert.Equal(q2, q1); Assert.Equal(m2, m1); Assert.Equal(v2, v1); Assert.Equal(x2, x1);

                var (r1, s1, a1, c1) = (R(), Pos(), R(), R());
                for (int i = 0; i < n; i++) a1[i] *= 0.1f;   // keep v − ḡ² positive
                var (r2, s2, a2, c2) = ((float[])r1.Clone(), (float[])s1.Clone(), (float[])a1.Clone(), (float[])c1.Clone());
                OptimizerKernels.RmsPropWithWidth(use512, r1, g, s1, a1, c1, 0.1f, flag, 0.99f, 0.01f, 1e-8f, flag ? 0.9f : 0f, -0.01f, !flag);
                OptimizerKernels.RmsPropReference(r2, g, s2, a2, c2, 0.1f, flag, 0.99f, 0.01f, 1e-8f, flag ? 0.9f : 0f, -0.01f, !flag);
                Assert.Equal(r2, r1); Assert.Equal(s2, s1); Assert.Equal(a2, a1); Assert.Equal(c2, c1);
            }
        }
    }

    [Fact]
    public void WeightDecayGroupsExcludeBiasesAndRankOneParameters()
    {
        var model = new Sequential(new Linear(4, 3, generator: new Generator(1)), new Linear(3, 2, bias: false, generator: new Generator(2)));
        var named = model.NamedParameters().Select(p => (p.Name, (Tensor)p.Parameter)).Append(("bn.weight", Tensor.Ones(3)));
        var groups = WeightDecayGroups.Split(named, weightDecay: 0.05);
        var opt = new AdamW(groups);
        Assert.Equal(["decay", "no_decay"], opt.ParamGroups.Select(g => g.Name!));
        Assert.Equal(2, opt.ParamGroups[0].Params.Count);          // 0.weight, 1.weight
        Assert.Equal(2, opt.ParamGroups[1].Params.Count);          // 0.bias, bn.weight (rank 1)
        Assert.Equal(0.05, opt.ParamGroups[0].WeightDecay);
        Assert.Equal(0.0, opt.ParamGroups[1].WeightDecay);
        Assert.False(WeightDecayGroups.ShouldDecay("conv.bias", Tensor.Zeros(2, 2)));
        Assert.True(WeightDecayGroups.ShouldDecay("conv.weight", Tensor.Zeros(2, 1, 3, 3)));
    }

    [Fact]
    public void ParameterGroupsKeepTheirOwnOptions()
    {
        var ps = Params(6);
        var opt = new SGD([new ParamGroup([ps[0]]), new ParamGroup([ps[1]], lr: 0.5, options: null),
            new ParamGroup([ps[2]], options: new SGDOptions { Lr = 0.2, Momentum = 0.5 })], lr: 0.1);
        Assert.Equal([0.1, 0.5, 0.2], opt.ParamGroups.Select(g => g.Lr));
        Assert.Equal(0.5, ((SGDOptions)opt.ParamGroups[2].Options).Momentum);
        foreach (var p in ps) p.Grad = Tensor.Ones(p.Shape);
        float before = ps[1].Data[0];
        opt.Step();
        Assert.Equal(before - 0.5f, ps[1].Data[0]);
        opt.ZeroGrad();
        Assert.All(ps, p => Assert.Null(p.Grad));
    }

    [Fact]
    public void ClipGradNormScalesToMaxNormAndReturnsTotal()
    {
        var a = Tensor.Zeros(2); a.Grad = Tensor.FromArray([3f, 0f]);
        var b = Tensor.Zeros(1); b.Grad = Tensor.FromArray([4f]);
        var c = Tensor.Zeros(1);                                             // no grad: ignored
        double total = GradClipping.ClipGradNorm([a, b, c], maxNorm: 1.0);
        Assert.Equal(5.0, total);                                            // √(3² + 4²)
        float coef = 1f / (5f + 1e-6f);
        Assert.Equal([3f * coef, 0f], a.Grad.ToArray());
        Assert.Equal(4f * coef, b.Grad!.Data[0]);
        Assert.Equal(4.0 * coef, GradClipping.ClipGradNorm([a, b], maxNorm: 10, normType: double.PositiveInfinity), 6);
        Assert.Equal([3f * coef, 0f], a.Grad.ToArray());                     // under the limit: unchanged (×1)
    }

    [Fact]
    public void ClipGradValueClampsAndReturnsTotalNorm()
    {
        var a = Tensor.Zeros(3); a.Grad = Tensor.FromArray([3f, -4f, 0.5f]);
        double total = GradClipping.ClipGradValue([a], clipValue: 1.0);
        Assert.Equal(Math.Sqrt(25.25), total, 6);
        Assert.Equal([1f, -1f, 0.5f], a.Grad.ToArray());
    }
}
