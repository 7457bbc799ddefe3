using System.Globalization;
using CnnLab.Init;
using CnnLab.Nn;
using CnnLab.Nn.Models;
using CnnLab.Optim;
using CnnLab.Tensors;
using CnnLab.Viz;
using CnnLab.Init.Networks;

namespace CnnLab.Lab.Experiments;

/// <summary>
/// The notes' table "activation decides initialization" (sigmoid/tanh → Xavier, ReLU → Kaiming), measured:
/// {sigmoid, tanh, ReLU, leaky ReLU} × {naive N(0, 0.01²), Xavier normal, Kaiming normal, LeCun normal,
/// PyTorch default} on width-256 MLPs of depth 5/10/20/30. At init, per layer, the std of each hidden
/// activation and of the gradient back-propagated to it (dL/dh); the forward ratio std(h_last)/std(h_1) and
/// the backward ratio std(dL/dh_1)/std(dL/dh_last) say whether the signal survives the depth. tanh is also
/// measured with Xavier at PyTorch's <c>calculate_gain('tanh')</c> = 5/3 (cnnlab's "auto" init). Per-layer
/// histograms in the style of Glorot &amp; Bengio 2010 (AISTATS, Figs. 6-7), short training runs at depth 10,
/// and He et al. 2015 (arXiv:1502.01852, Fig. 3): a plain 30-layer ReLU CNN trains with Kaiming and stalls
/// with Xavier, while a 22-layer one trains with both, Kaiming first.
/// </summary>
/// <remarks>
/// The plain CNNs are 22 and 30 3x3 conv layers of 8 channels with ReLU, zero biases and no BatchNorm; the first
/// conv has stride 2 (28x28 → 14x14, a stem that cuts the cost 4×), max pooling after layers ⌈D/3⌉ and ⌈2D/3⌉,
/// global average pooling and Linear(8, 10); SGD momentum 0.9, lr 0.01, no weight decay. Measured on the
/// embedded subset: lr 0.02 or 0.05 kill the Kaiming nets (the loss stays at ln 10 = 2.30), lr 0.003 trains more
/// slowly; with lr 0.01 the Kaiming nets leave the chance plateau after 100-200 steps (depth 30 later than 22).
/// Quick: batch 32, 350 steps, threshold 2.0 (10-step average loss). Full: batch 64, 1,000 steps, threshold 1.5.
/// </remarks>
public sealed partial class InitDepthExperiment : Experiment
{
    /// <summary>Budgets: statistics batch, MLP training, and the plain-CNN runs (stride-2 first conv, <c>CnnChannels</c> channels).</summary>
    internal sealed record Budget(int Width, int[] Depths, int StatsBatch, int MlpSteps, int CnnChannels, int[] CnnDepths,
        int CnnSteps, int CnnBatch, double CnnLr, double Threshold);

    internal static readonly Budget QuickBudget = new(256, [5, 10, 20, 30], 64, 100, 8, [22, 30], 350, 32, 0.01, 2.0);
    internal static readonly Budget FullBudget = new(256, [5, 10, 20, 30], 256, 600, 8, [22, 30], 1000, 64, 0.01, 1.5);

    internal static readonly string[] Activations = ["sigmoid", "tanh", "relu", "leaky-relu"];
    internal static readonly string[] Inits = ["normal:0.01", "xavier-normal", "kaiming-normal", "lecun-normal", "pytorch-default"];

    /// <summary>Per hidden layer: the activation values and the gradient back-propagated to them, at init.</summary>
    internal sealed record Probe(List<float[]> Activations, List<float[]> Gradients, double Loss)
    {
        public double[] ActStd => Activations.Select(a => LabTraining.Std(a)).ToArray();
        public double[] GradStd => Gradients.Select(g => LabTraining.Std(g)).ToArray();
        public double ForwardRatio => ActStd[^1] / ActStd[0];
        public double BackwardRatio => GradStd[0] / GradStd[^1];
    }

    private readonly Budget? _budget;

    public InitDepthExperiment() { }

    internal InitDepthExperiment(Budget budget) => _budget = budget;

    public override ExperimentInfo Info { get; } = new(
        Name: "init-depth",
        Title: "Activation decides initialization: signal and gradient through 5 to 30 layers",
        Topic: "Initialization",
        Order: 30,
        Claim: "Activation decides initialization: Xavier for sigmoid and tanh, Kaiming for ReLU, leaky ReLU and deep CNNs; "
            + "without Kaiming, gradients decay layer by layer in deep ReLU CNNs.");

    /// <summary>One forward and backward pass, reading every activation module's output and its gradient.</summary>
    internal static Probe Measure(Module model, Tensor x, int[] y)
    {
        var acts = new List<float[]>();
        var grads = new List<(int Index, float[] Values)>();
        var hooks = new List<IDisposable>();
        foreach (var (_, m) in model.NamedModules())
            if (m is ReLU or Tanh or Sigmoid or LeakyReLU)
                hooks.Add(m.RegisterForwardHook((Module _, Tensor _, Tensor output) =>
                {
                    int index = acts.Count;
                    acts.Add(output.ToArray());
                    if (output.RequiresGrad) hooks.Add(output.RegisterHook((Tensor g) => grads.Add((index, g.ToArray()))));
                }));
        try
        {
            model.ZeroGrad();
            var loss = Functional.CrossEntropy(model.Forward(x), y);
            loss.Backward();
            var ordered = grads.OrderBy(g => g.Index).Select(g => g.Values).ToList();
            return new Probe(acts, ordered, loss.Item());
        }
        finally
        {
            foreach (var h in hooks) h.Dispose();
            model.ZeroGrad();
        }
    }

    /// <summary>A width-256 MLP of <paramref name="depth"/> hidden layers with <paramref name="init"/> applied.</summary>
    internal static Sequential Mlp(int depth, int width, string activation, string init, long seed)
    {
        var model = ModelZoo.Create($"mlp-{depth}-{width}-{activation}", new Generator(seed));
        if (init != "pytorch-default") InitScheme.Parse(init).Apply(model, new Generator(seed + 1));
        return model;
    }

    /// <summary>
    /// The zoo's plain-cnn-D (D 3x3 convs + ReLU, max-pool after layers ⌈D/3⌉ and ⌈2D/3⌉, global average pooling,
    /// Linear) with <paramref name="channels"/> channels and a first conv of stride <paramref name="firstStride"/>;
    /// 16 channels and stride 1 is exactly <c>plain-cnn-D</c>.
    /// </summary>
    internal static Sequential PlainCnn(int depth, int channels, long seed, bool batchNorm = false, int firstStride = 1)
    {
        var g = new Generator(seed);
        if (channels == 16 && !batchNorm && firstStride == 1) return ModelZoo.Create($"plain-cnn-{depth}", g);
        var s = new Sequential();
        int pool1 = (depth + 2) / 3, pool2 = (2 * depth + 2) / 3;
        for (int i = 1; i <= depth; i++)
        {
            s.Add(new Conv2d(i == 1 ? 1 : channels, channels, 3, stride: i == 1 ? firstStride : 1, padding: 1, bias: !batchNorm, generator: g));
            if (batchNorm) s.Add(new BatchNorm2d(channels));
            s.Add(new ReLU());
            if (i == pool1 || i == pool2) s.Add(new MaxPool2d(2));
        }
        s.Add(new AdaptiveAvgPool2d(1));
        s.Add(new Flatten());
        s.Add(new Linear(channels, 10, generator: g));
        return s;
    }

    /// <summary>
    /// First step (1-based) at which the 10-step moving average of the loss is at most <paramref name="threshold"/>; null if never.
    /// </summary>
    internal static int? StepsTo(double[] losses, double threshold, int window = 10)
    {
        double sum = 0;
        int n = 0;
        for (int i = 0; i < losses.Length; i++)
        {
            if (!double.IsFinite(losses[i])) return null;
            sum += losses[i]; n++;
            if (n > window) { sum -= losses[i - window]; n--; }
            if (n == window && sum / n <= threshold) return i + 1;
        }
        return null;
    }

    public override ExperimentResult Run(LabContext ctx)
    {
        var b = _budget ?? (ctx.Quick ? QuickBudget : FullBudget);
        var (x, y) = LabTraining.FirstBatch(ctx.Data.Train, b.StatsBatch);
        var metrics = new Dictionary<string, object?>
        {
            ["width"] = b.Width,
            ["depths"] = b.Depths,
            ["activations"] = Activations,
            ["inits"] = Inits,
            ["stats_batch"] = b.StatsBatch,
        };
        var figures = new List<Figure>();
        static string S(double v) => v.ToString("G3", CultureInfo.InvariantCulture);

        // 1. Statistics at init over the whole grid.
        var fwd = new Dictionary<(string, string, int), double>();
        var bwd = new Dictionary<(string, string, int), double>();
        foreach (int depth in b.Depths)
            foreach (var act in Activations)
                foreach (var init in Inits)
                {
                    var p = Measure(Mlp(depth, b.Width, act, init, ctx.Seed), x, y);
                    fwd[(act, init, depth)] = p.ForwardRatio;
                    bwd[(act, init, depth)] = p.BackwardRatio;
                    metrics[$"stats_{act}_{init}_depth{depth}"] = new Dictionary<string, object?>
                    {
                        ["activation_std_per_layer"] = p.ActStd,
                        ["grad_std_per_layer"] = p.GradStd,
                        ["forward_ratio"] = p.ForwardRatio,
                        ["backward_ratio"] = p.BackwardRatio,
                    };
                }
        int deepest = b.Depths.Max();
        var fGrid = new double[Activations.Length, Inits.Length];
        var bGrid = new double[Activations.Length, Inits.Length];
        for (int i = 0; i < Activations.Length; i++)
            for (int j = 0; j < Inits.Length; j++)
            {
                fGrid[i, j] = Log10Clamped(fwd[(Activations[i], Inits[j], deepest)]);
                bGrid[i, j] = Log10Clamped(bwd[(Activations[i], Inits[j], deepest)]);
            }
        figures.Add(Figure.Of(Heatmaps.Grid($"Forward: log10 std(h_{deepest}) / std(h_1) at init, depth {deepest}", fGrid, Activations, Inits,
            "initialization", "activation", ctx.FigurePath("forward-ratio"), colorbarLabel: "log10 std ratio (clipped to ±6)", range: (-6, 6)),
            ForwardCaption(b)));
        figures.Add(Figure.Of(Heatmaps.Grid($"Backward: log10 std(dL/dh_1) / std(dL/dh_{deepest}) at init, depth {deepest}", bGrid,
            Activations, Inits, "initialization", "activation", ctx.FigurePath("backward-ratio"),
            colorbarLabel: "log10 std ratio (clipped to ±6)", range: (-6, 6)),
            BackwardCaption));
        var reluSeries = Inits.Select(init =>
            (init, b.Depths.Select(d => (double)d).ToArray(), b.Depths.Select(d => fwd[("relu", init, d)]).ToArray())).ToList();
        figures.Add(Figure.Of(LinePlots.Curves("ReLU MLP: std(h_last) / std(h_1) at init against depth", "depth (hidden layers)", "forward std ratio",
            reluSeries, ctx.FigurePath("relu-ratio-vs-depth"), logY: true, markers: true),
            ReluRatioCaption));

        // 2. Glorot & Bengio style histograms at depth 10.
        int histDepth = b.Depths.Contains(10) ? 10 : b.Depths.Min();
        foreach (var (act, init) in new[] { ("tanh", "xavier-normal"), ("relu", "xavier-normal"), ("relu", "kaiming-normal") })
        {
            var p = Measure(Mlp(histDepth, b.Width, act, init, ctx.Seed), x, y);
            var pick = PickLayers(histDepth);
            figures.Add(Figure.Of(Histograms.PerLayer($"Activations per layer at init: {act} + {init}, depth {histDepth}",
                pick.Select(l => ($"layer {l + 1}", act == "relu" ? p.Activations[l].Where(v => v > 0).ToArray() : p.Activations[l])).ToList(),
                ctx.FigurePath($"hist-act-{act}-{init}"), bins: 60,
                xLabel: act == "relu" ? "activation value (positive part; ReLU zeros left out)" : "activation value", logY: act == "relu"),
                act == "tanh" ? "tanh + Xavier: the spread narrows slowly with depth (tanh contracts), as Glorot & Bengio's Fig. 6 shows."
                : init == "xavier-normal" ? "ReLU + Xavier: each layer's distribution is narrower than the one before (std ×1/√2 per layer)."
                : "ReLU + Kaiming: the distributions lie on top of each other — the variance is preserved."));
            figures.Add(Figure.Of(Histograms.PerLayer($"Back-propagated gradients dL/dh at init: {act} + {init}, depth {histDepth}",
                pick.Select(l => ($"layer {l + 1}", p.Gradients[l].Where(v => v != 0).ToArray())).ToList(),
                ctx.FigurePath($"hist-grad-{act}-{init}"), bins: 60, xLabel: "dL/dh (zeros left out)", logY: true),
                "Glorot & Bengio's Fig. 7: a preserved gradient has the same spread at every layer."));
            metrics[$"hist_{act}_{init}_act_std"] = p.ActStd;
            metrics[$"hist_{act}_{init}_grad_std"] = p.GradStd;
        }

        // 3. Training curves at depth 10 for a subset.
        var subset = new[] { ("sigmoid", "xavier-normal"), ("tanh", "xavier-normal"), ("relu", "normal:0.01"), ("relu", "kaiming-normal") };
        var mlpCurves = new List<(string, double[], double[])>();
        var mlpFinal = new Dictionary<string, double>();
        foreach (var (act, init) in subset)
        {
            var model = Mlp(histDepth, b.Width, act, init, ctx.Seed);
            var losses = LabTraining.Train(model, new SGD(model.Parameters(), 0.01, momentum: 0.9),
                LabTraining.Loader(ctx.Data.Train, 64, ctx.Seed), b.MlpSteps);
            mlpFinal[$"{act}+{init}"] = LabTraining.Tail(losses, 20);
            mlpCurves.Add(($"{act} + {init}", Steps(losses.Length), Smooth(losses, 10)));
            metrics[$"mlp_loss_{act}_{init}_depth{histDepth}"] = losses;
        }
        figures.Add(Figure.Of(LinePlots.Curves($"Training loss, depth-{histDepth} MLPs, SGD momentum 0.9, lr 0.01 (10-step average)", "step",
            "cross-entropy", mlpCurves, ctx.FigurePath("mlp-training")),
            "Same data order for every run; only activation and initialization differ."));

        // 4. He et al. 2015, Fig. 3: plain ReLU CNNs, Kaiming vs Xavier.
        var cnnCurves = new List<(string, double[], double[])>();
        var stepsTo = new Dictionary<string, int?>();
        var cnnFinal = new Dictionary<string, double>();
        var cnnBackward = new Dictionary<string, double>();
        var cnnForward = new Dictionary<string, double>();
        bool trained = b.CnnSteps > 0;
        foreach (int depth in b.CnnDepths)
            foreach (var init in new[] { "kaiming-normal", "xavier-normal" })
            {
                var model = PlainCnn(depth, b.CnnChannels, ctx.Seed, firstStride: 2);
                InitScheme.Parse(init).Apply(model, new Generator(ctx.Seed + 1));
                string key = $"{depth}-{init}";
                // He et al.'s argument at init: the gradient reaching the first conv layer relative to the last one.
                var atInit = Measure(model, x, y);
                cnnBackward[key] = atInit.BackwardRatio;
                cnnForward[key] = atInit.ForwardRatio;
                metrics[$"cnn_backward_ratio_depth{depth}_{init}"] = atInit.BackwardRatio;
                metrics[$"cnn_forward_ratio_depth{depth}_{init}"] = atInit.ForwardRatio;
                if (!trained) continue;
                var losses = LabTraining.Train(model, new SGD(model.Parameters(), b.CnnLr, momentum: 0.9),
                    LabTraining.Loader(ctx.Data.Train, b.CnnBatch, ctx.Seed), b.CnnSteps);
                stepsTo[key] = StepsTo(losses, b.Threshold);
                cnnFinal[key] = LabTraining.Tail(losses, 20);
                cnnCurves.Add(($"{depth} layers, {init}", Steps(losses.Length), Smooth(losses, 10)));
                metrics[$"cnn_loss_depth{depth}_{init}"] = losses;
                metrics[$"cnn_steps_to_{S(b.Threshold)}_depth{depth}_{init}"] = stepsTo[key];
                metrics[$"cnn_final_loss_depth{depth}_{init}"] = cnnFinal[key];
                ctx.Log.WriteLine(FormattableString.Invariant($"      plain CNN depth {depth}, {init}: final loss {cnnFinal[key]:0.000}, ")
                    + FormattableString.Invariant($"steps to {b.Threshold}: {stepsTo[key]?.ToString(CultureInfo.InvariantCulture) ?? "never"}"));
            }
        string cnnDesc = CnnDescription(b);
        metrics["cnn_setup"] = cnnDesc;
        metrics["cnn_threshold"] = b.Threshold;
        if (cnnCurves.Count > 0)
            figures.Add(Figure.Of(LinePlots.Curves($"He et al. 2015 Fig. 3: plain ReLU CNNs, Kaiming vs Xavier (10-step average)", "step",
                "cross-entropy", cnnCurves, ctx.FigurePath("plain-cnn-training")),
                CnnCurvesCaption(cnnDesc, b.Threshold)));

        // tanh with PyTorch's recommended gain: calculate_gain('tanh') = 5/3 ("auto" = Xavier normal with gain 5/3 before each tanh).
        var tanhGain = new Dictionary<int, (double Forward, double Backward)>();
        foreach (int depth in b.Depths)
        {
            var p = Measure(Mlp(depth, b.Width, "tanh", "auto", ctx.Seed), x, y);
            tanhGain[depth] = (p.ForwardRatio, p.BackwardRatio);
            metrics[$"stats_tanh_xavier-normal-gain-5/3_depth{depth}"] = new Dictionary<string, object?>
            {
                ["activation_std_per_layer"] = p.ActStd,
                ["grad_std_per_layer"] = p.GradStd,
                ["forward_ratio"] = p.ForwardRatio,
                ["backward_ratio"] = p.BackwardRatio,
            };
        }

        // Verdict: which init keeps both ratios in [0.5, 2] at the deepest depth, per activation.
        var keeps = new Dictionary<string, string[]>();
        var keepsForward = new Dictionary<string, string[]>();
        foreach (var act in Activations)
        {
            keepsForward[act] = Inits.Where(i => InBand(fwd[(act, i, deepest)])).ToArray();
            keeps[act] = Inits.Where(i => InBand(fwd[(act, i, deepest)]) && InBand(bwd[(act, i, deepest)])).ToArray();
            metrics[$"keeps_forward_{act}_depth{deepest}"] = keepsForward[act];
            metrics[$"keeps_both_{act}_depth{deepest}"] = keeps[act];
        }
        bool reluKaiming = keeps["relu"].Contains("kaiming-normal") && !keeps["relu"].Contains("xavier-normal");
        bool tanhXavier = keeps["tanh"].Contains("xavier-normal");
        bool sigmoidXavier = keeps["sigmoid"].Contains("xavier-normal");
        int dDeep = b.CnnDepths.Max(), dShallow = b.CnnDepths.Min();
        int? k30 = stepsTo.GetValueOrDefault($"{dDeep}-kaiming-normal"), x30 = stepsTo.GetValueOrDefault($"{dDeep}-xavier-normal");
        int? k22 = stepsTo.GetValueOrDefault($"{dShallow}-kaiming-normal"), x22 = stepsTo.GetValueOrDefault($"{dShallow}-xavier-normal");
        bool he30 = trained && k30 is not null && x30 is null;
        bool he22 = trained && k22 is not null && x22 is not null && k22 <= x22;
        bool shallowKaimingOnly = trained && k22 is not null && x22 is null;
        metrics["he2015_deep_kaiming_converges_xavier_stalls"] = he30;
        metrics["he2015_shallow_both_converge_kaiming_first"] = he22;
        metrics["he2015_shallow_kaiming_converges_xavier_stalls"] = shallowKaimingOnly;
        double kDeep = cnnBackward[$"{dDeep}-kaiming-normal"], xDeep = cnnBackward[$"{dDeep}-xavier-normal"];
        // Xavier's variance 1/fan_in is half of Kaiming's 2/fan_in on every conv after the first, so its gradient at the
        // first layer relative to the last is (1/√2)^(D−1) times Kaiming's (pooling and ReLU masks scale both alike).
        double xOverK = xDeep / kDeep, predicted = Math.Pow(0.5, (dDeep - 1) / 2.0);
        bool heMechanism = xOverK < 1e-2;
        metrics["he2015_init_gradient_xavier_over_kaiming"] = xOverK;
        metrics["he2015_init_gradient_xavier_over_kaiming_predicted"] = predicted;
        metrics["he2015_init_gradient_kaiming_kept_xavier_vanishes"] = heMechanism;
        metrics["agrees_relu_kaiming"] = reluKaiming;
        metrics["agrees_tanh_xavier"] = tanhXavier;
        bool agrees = reluKaiming && tanhXavier && heMechanism && (!trained || he30);
        metrics["agrees"] = agrees;

        string Join(string[] a) => a.Length == 0 ? "none" : string.Join(", ", a);
        string St(int? s) => s is null ? "never" : FormattableString.Invariant($"step {s}");
        string RunText(int depth, string init) =>
            FormattableString.Invariant($"{St(stepsTo[$"{depth}-{init}"])} (final loss {cnnFinal[$"{depth}-{init}"]:0.00})");
        var (gF, gB) = tanhGain[deepest];
        string cnnVerdict = !trained
            ? FormattableString.Invariant($"He et al. 2015, plain ReLU CNNs ({b.CnnChannels} channels): ")
                + "no training steps in this budget, only the statistics at init"
            : FormattableString.Invariant($"He et al. 2015 ({cnnDesc}; steps until the 10-step average loss ≤ {b.Threshold}, chance = 2.30): ")
              + FormattableString.Invariant($"depth {dDeep} Kaiming {RunText(dDeep, "kaiming-normal")}, ")
              + FormattableString.Invariant($"Xavier {RunText(dDeep, "xavier-normal")}; ")
              + FormattableString.Invariant($"depth {dShallow} Kaiming {RunText(dShallow, "kaiming-normal")}, ")
              + FormattableString.Invariant($"Xavier {RunText(dShallow, "xavier-normal")}")
              + DeepCnnOutcome(dDeep, he30, k30)
              + ShallowCnnOutcome(b, dShallow, he22, shallowKaimingOnly, cnnForward);
        string verdict =
            KeepsIntro(deepest, b.Width)
            + string.Join("; ", Activations.Select(a => $"{a}: {Join(keeps[a])}")) + ". "
            + ReluSentence(fwd, bwd, deepest)
            + TanhSentence(fwd, bwd, deepest, gF, gB)
            + SigmoidSentence(sigmoidXavier, fwd, bwd, deepest)
            + FormattableString.Invariant($"Depth-{histDepth} MLP training ({b.MlpSteps} steps): ")
            + string.Join(", ", mlpFinal.Select(kv => FormattableString.Invariant($"{kv.Key} {kv.Value:0.000}"))) + ". "
            + cnnVerdict
            + GradientSentence(kDeep, xDeep, dDeep, dShallow, cnnBackward, xOverK, predicted)
            + (agrees ? "This agrees with the notes: the activation decides the init, and deep ReLU CNNs need Kaiming."
                      : "This does not fully agree with the notes: " + string.Join("; ", new[]
                        {
                            reluKaiming ? null : "for ReLU the measured best init is not Kaiming alone",
                            tanhXavier ? null : "Xavier does not keep tanh's signal and gradient within [0.5, 2] at this depth",
                            heMechanism ? null : "at init the plain CNN's gradient did not separate Kaiming from Xavier by 100×",
                            !trained || he30 ? null : "the plain-CNN training comparison did not separate Kaiming from Xavier in this budget",
                        }.Where(s => s is not null)) + ".");
        var table = new LabTable($"Activation decides initialization: forward / backward std ratio at depth {deepest} (✓ = both within [0.5, 2])",
            ["activation", .. Inits],
            Activations.Select(a => new[] { a }.Concat(Inits.Select(i =>
                $"{S(fwd[(a, i, deepest)])} / {S(bwd[(a, i, deepest)])}{(keeps[a].Contains(i) ? " ✓" : "")}")).ToArray()).ToList());
        return new ExperimentResult { Claim = Claim, Verdict = verdict, Agrees = agrees, Metrics = metrics, Figures = figures, Tables = [table] };
    }

    private static bool InBand(double r) => r >= 0.5 && r <= 2;

    private static double Log10Clamped(double r) => double.IsFinite(r) && r > 0 ? Math.Clamp(Math.Log10(r), -6, 6) : double.NaN;

    private static int[] PickLayers(int depth) => depth <= 4 ? Enumerable.Range(0, depth).ToArray() : [0, depth / 3, 2 * depth / 3, depth - 1];

    private static double[] Steps(int n) => Enumerable.Range(1, n).Select(i => (double)i).ToArray();

    internal static double[] Smooth(double[] v, int k)
    {
        var r = new double[v.Length];
        for (int i = 0; i < v.Length; i++)
        {
            double s = 0;
            int n = 0;
            for (int j = Math.Max(0, i - k + 1); j <= i; j++) if (double.IsFinite(v[j])) { s += v[j]; n++; }
            r[i] = n == 0 ? double.NaN : s / n;
        }
        return r;
    }
}
