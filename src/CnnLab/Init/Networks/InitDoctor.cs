using CnnLab.Nn;
using CnnLab.Tensors;

namespace CnnLab.Init.Networks;

/// <summary>
/// The init doctor: runs one forward pass (read through forward hooks) and one backward pass on a batch
/// at initialization and reports, per weight layer, fan_in, fan_out, the effective gain, the weight std,
/// the activation mean/std predicted by variance propagation next to the one measured, the weight
/// gradient's std, the fraction of dead ReLUs and the std ratio to the layer before; then warns, with the
/// fix, about zero/constant weights (symmetry), Xavier/LeCun scaling followed by ReLU in a deep stack,
/// a scale that makes the signal vanish or explode, vanishing/exploding weight gradients, dead ReLUs, and BatchNorm (which makes the choice
/// matter less).
/// <para>Variance propagation (LeCun et al. 1998; Glorot &amp; Bengio 2010; He et al. 2015, arXiv:1502.01852):
/// for y = Σᵢ wᵢxᵢ + b over fan_in inputs with weights of mean m_w, variance v_w, inputs of mean μ, variance σ²,
/// E[y] = fan_in·m_w·μ + E[b] and Var(y) = fan_in·((v_w + m_w²)(σ² + μ²) − m_w²μ²) + Var(b); an activation f
/// maps the moments of y ~ N(E[y], Var(y)) to those of f(y) by quadrature (for ReLU: E[f²] = Var(y)/2, the
/// halving that Kaiming's factor 2 undoes); BatchNorm (training) resets them to (β, γ²). Other modules
/// (pooling, dropout, flatten) are taken as identity and residual additions are not modeled, so the
/// prediction is exact in expectation only for plain Linear/Conv–activation stacks (conv padding ignored).</para>
/// </summary>
/// <remarks>PyTorch: no counterpart. The model's parameters, gradients and buffers (BatchNorm running
/// statistics) are left as they were.</remarks>
public static class InitDoctor
{
    /// <summary>How many ReLU layers scaled by Xavier/LeCun make a "deep stack" worth a warning.</summary>
    public const int DeepStack = 4;

    /// <summary>A per-layer std factor outside [1/1.15, 1.15] is reported as vanishing/exploding.</summary>
    public const double FactorTolerance = 1.15;

    private sealed record Stats(double Mean, double Variance)
    {
        public double Std => Math.Sqrt(Variance);

        public static Stats Of(Tensor t)
        {
            var d = t.Elements;
            if (d.Length == 0) return new(double.NaN, double.NaN);
            double sum = 0;
            foreach (var v in d) sum += v;
            double mean = sum / d.Length, ss = 0;
            foreach (var v in d) ss += (v - mean) * (v - mean);
            return new(mean, ss / d.Length);
        }
    }

    private sealed record Event(Module Module, Stats Input, Stats Output, double? DeadFraction);

    /// <summary>
    /// Diagnoses <paramref name="model"/> on <paramref name="batch"/> (first dim = examples). The loss is
    /// <paramref name="loss"/>(output) if given, else cross-entropy with <paramref name="labels"/>, else mean(output²).
    /// </summary>
    public static DoctorReport Diagnose(Module model, Tensor batch, int[]? labels = null, Func<Tensor, Tensor>? loss = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batch);
        var layers = WeightLayer.Find(model);
        if (layers.Count == 0)
            throw new ArgumentException("the model has no weight layer (a module with a 'weight' parameter of rank >= 2)");
        var weightOf = new Dictionary<Module, WeightLayer>();
        foreach (var l in layers) weightOf.TryAdd(l.Module, l);

        var savedBuffers = model.NamedBuffers().Select(b => (b.Buffer, Copy: b.Buffer.ToArray())).ToList();
        var savedGrads = model.Parameters().Select(p => (p, p.Grad)).ToList();
        var events = new List<Event>();
        var hooks = new List<IDisposable>();
        double lossValue;
        try
        {
            foreach (var (_, module) in model.NamedModules().DistinctBy(m => m.Module))
            {
                if (module.Children().Any() && !weightOf.ContainsKey(module)) continue;
                hooks.Add(module.RegisterForwardHook((Module m, Tensor input, Tensor output) =>
                    events.Add(new Event(m, Stats.Of(input), Stats.Of(output), DeadFraction(m, input)))));
            }
            foreach (var p in model.Parameters()) p.ZeroGrad(setToNone: true);
            var output = model.Forward(batch);
            var lossTensor = loss is not null ? loss(output)
                : labels is not null ? Functional.CrossEntropy(output, labels)
                : Functional.Mean(Functional.Mul(output, output));
            lossValue = lossTensor.Item();
            lossTensor.Backward();
            var rows = BuildRows(layers, weightOf, events);
            var warnings = BuildWarnings(model, layers, rows);
            return new DoctorReport(rows, warnings, lossValue);
        }
        finally
        {
            foreach (var h in hooks) h.Dispose();
            foreach (var (buffer, copy) in savedBuffers)
            {
                copy.CopyTo(buffer.Elements);
                buffer.NoteWrite();
            }
            foreach (var (p, grad) in savedGrads) p.Grad = grad;
        }
    }

    // Fraction of units (all dims but the batch dim) whose input is ≤ 0 for every example: dead rectifiers.
    private static double? DeadFraction(Module module, Tensor input)
    {
        if (ActivationKind.Of(module) is not { IsRectifier: true } || input.Rank < 1 || input.Numel == 0) return null;
        int n = input.Shape[0], units = input.Numel / n;
        var d = input.Elements;
        int dead = 0;
        for (int u = 0; u < units; u++)
        {
            bool alive = false;
            for (int i = 0; i < n && !alive; i++) alive = d[i * units + u] > 0;
            if (!alive) dead++;
        }
        return (double)dead / units;
    }

    private static List<DoctorLayer> BuildRows(IReadOnlyList<WeightLayer> layers, Dictionary<Module, WeightLayer> weightOf, List<Event> events)
    {
        // Walk the events in execution order, propagating the predicted moments from the measured input.
        var predicted = new Dictionary<WeightLayer, Stats>();
        var measured = new Dictionary<WeightLayer, Event>();
        Stats state = events.Count > 0 ? events[0].Input : new Stats(double.NaN, double.NaN);
        WeightLayer? pending = null;
        foreach (var e in events)
        {
            if (weightOf.TryGetValue(e.Module, out var wl))
            {
                state = PropagateLinear(wl, state);
                pending = wl;
            }
            else if (ActivationKind.Of(e.Module) is { } act)
            {
                var (m, v) = act.Propagate(state.Mean, state.Variance);
                state = new Stats(m, v);
            }
            else if (WeightLayer.IsBatchNorm(e.Module))
            {
                state = PropagateBatchNorm(e.Module, state);
            }
            if (pending is not null && ReferenceEquals(e.Module, pending.ActivationModule ?? pending.Module))
            {
                predicted.TryAdd(pending, state);
                measured.TryAdd(pending, e);
                pending = null;
            }
        }
        var rows = new List<DoctorLayer>();
        double previousStd = double.NaN;
        foreach (var l in layers)
        {
            var w = Stats.Of(l.Weight);
            var p = predicted.GetValueOrDefault(l) ?? new Stats(double.NaN, double.NaN);
            var e = measured.GetValueOrDefault(l);
            double std = e?.Output.Std ?? double.NaN;
            double gradStd = l.Weight.Grad is { } g ? Stats.Of(g).Std : double.NaN;
            double? dead = l.ActivationModule is not null && e is not null && ReferenceEquals(e.Module, l.ActivationModule) ? e.DeadFraction : null;
            rows.Add(new DoctorLayer(l.Name, l.Activation?.ToString() ?? "none", l.FanIn, l.FanOut, Math.Sqrt(l.FanIn) * w.Std, w.Std,
                p.Mean, p.Std, e?.Output.Mean ?? double.NaN, std, gradStd, dead, previousStd > 0 ? std / previousStd : double.NaN));
            previousStd = std;
        }
        return rows;
    }

    private static Stats PropagateLinear(WeightLayer l, Stats x)
    {
        var w = Stats.Of(l.Weight);
        var b = l.Bias is null ? new Stats(0, 0) : Stats.Of(l.Bias);
        double fanIn = l.FanIn, q = x.Variance + x.Mean * x.Mean, mw2 = w.Mean * w.Mean;
        double mean = fanIn * w.Mean * x.Mean + b.Mean;
        double variance = fanIn * ((w.Variance + mw2) * q - mw2 * x.Mean * x.Mean) + b.Variance;
        return new Stats(mean, Math.Max(0, variance));
    }

    private static Stats PropagateBatchNorm(Module bn, Stats x)
    {
        Tensor? gamma = null, beta = null;
        foreach (var (name, p) in bn.OwnParameters())
            if (name == "weight") gamma = p;
            else if (name == "bias") beta = p;
        double g2 = 1, bMean = 0;
        if (gamma is not null) { var s = Stats.Of(gamma); g2 = s.Variance + s.Mean * s.Mean; }
        if (beta is not null) bMean = Stats.Of(beta).Mean;
        if (bn.Training) return new Stats(bMean, x.Variance > 0 ? g2 : 0);
        // evaluation: (x − running_mean)/√(running_var + eps)·γ + β with the running averages
        var rm = bn.NamedBuffers().FirstOrDefault(b => b.Name == "running_mean").Buffer;
        var rv = bn.NamedBuffers().FirstOrDefault(b => b.Name == "running_var").Buffer;
        double m = rm is null ? 0 : Stats.Of(rm).Mean, v = rv is null ? 1 : Stats.Of(rv).Mean;
        double gMean = gamma is null ? 1 : Stats.Of(gamma).Mean;
        return new Stats((x.Mean - m) / Math.Sqrt(v + 1e-5) * gMean + bMean, x.Variance * g2 / (v + 1e-5));
    }

    private static List<DoctorWarning> BuildWarnings(Module model, IReadOnlyList<WeightLayer> layers, List<DoctorLayer> rows)
    {
        var warnings = new List<DoctorWarning>();
        const string RandomFix = "break the symmetry with a random init: "
            + "--init auto (Kaiming normal before ReLU, Xavier normal before tanh/sigmoid), "
            + "e.g. Initializers.KaimingNormal(w, a: 0, FanMode.FanIn, Nonlinearity.Relu)";

        // 1. Zero / constant weights, or identical rows: units that can never differ.
        foreach (var l in layers)
        {
            var d = l.Weight.Elements;
            int units = l.Weight.Shape[0], per = l.Weight.Numel / Math.Max(1, units);
            if (units < 2 || per == 0) continue;
            bool constant = true, identicalRows = true;
            for (int i = 0; i < d.Length && constant; i++) constant = d[i] == d[0];
            for (int i = per; i < d.Length && identicalRows; i++) identicalRows = d[i] == d[i % per];
            if (constant)
                warnings.Add(new(l.Name, FormattableString.Invariant(
                    $"all {d.Length} weights equal {d[0]:G4}: every one of the {units} units computes the same output ")
                    + "and receives the same gradient, so they stay identical forever (symmetry is never broken) "
                    + "and the layer acts like a single unit", RandomFix));
            else if (identicalRows)
                warnings.Add(new(l.Name, $"all {units} rows of the weight are identical: "
                    + "the units compute the same output and receive the same gradient, "
                    + "so they never become different (symmetry is never broken)", RandomFix));
        }

        // 2. Xavier (or LeCun) scaling followed by ReLU in a deep stack: Var halves per layer.
        var xavierRelu = new List<int>();
        for (int i = 0; i < layers.Count; i++)
        {
            var l = layers[i];
            if (l.Activation is not { IsRectifier: true } act || act.Param > 0.1) continue;
            double v = Stats.Of(l.Weight).Variance * l.FanIn; // gain² = fan_in·Var(W)
            double glorot = 2.0 * l.FanIn / (l.FanIn + l.FanOut);
            if (Math.Abs(v / glorot - 1) < 0.2 || Math.Abs(v - 1) < 0.2) xavierRelu.Add(i);
        }
        bool xavierWarned = false;
        if (xavierRelu.Count >= DeepStack)
        {
            double perLayer = Math.Sqrt(xavierRelu.Average(i => Stats.Of(layers[i].Weight).Variance * layers[i].FanIn) / 2);
            var first = rows[xavierRelu[0]];
            var last = rows[xavierRelu[^1]];
            int n = xavierRelu.Count;
            double measuredRatio = last.ActivationStd / first.ActivationStd;
            int depth = (int)Math.Ceiling(Math.Log(1e-3) / Math.Log(perLayer));
            warnings.Add(new(first.Name, FormattableString.Invariant(
                $"{n} layers followed by ReLU are scaled like Xavier/Glorot ")
                + "(Var(W) = 2/(fan_in + fan_out), which is LeCun's 1/fan_in on square layers): "
                + "ReLU keeps only half of the second moment, so the signal's variance halves at every layer "
                + FormattableString.Invariant($"(std x{perLayer:G3} per layer); from {first.Name} to {last.Name} the std ratio is ")
                + FormattableString.Invariant($"{Math.Pow(perLayer, n - 1):G3} predicted, {measuredRatio:G3} measured, ")
                + FormattableString.Invariant($"and at this rate it falls below 1e-3 after {depth} layers"),
                "use Kaiming (He et al. 2015, arXiv:1502.01852), Var(W) = 2/fan_in: --init kaiming-normal or --init auto, "
                + "i.e. Initializers.KaimingNormal(w, a: 0, FanMode.FanIn, Nonlinearity.Relu)"));
            xavierWarned = true;
        }

        // 3. A scale that makes the signal vanish or explode: per-layer factor and the depth where it crosses 1e-3 / 1e3.
        // over the hidden layers (those followed by an activation) when there are enough: the output layer's scale is its own
        var measuredRows = Enumerable.Range(0, rows.Count).Where(i => rows[i].ActivationStd > 0 && double.IsFinite(rows[i].ActivationStd)).ToList();
        var hiddenRows = measuredRows.Where(i => layers[i].Activation is not null).ToList();
        if (hiddenRows.Count >= 3) measuredRows = hiddenRows;
        bool hasBatchNorm = model.NamedModules().Any(m => WeightLayer.IsBatchNorm(m.Module));
        if (!xavierWarned && measuredRows.Count >= 3)
        {
            int a = measuredRows[0], b = measuredRows[^1];
            double total = rows[b].ActivationStd / rows[a].ActivationStd;
            double factor = Math.Pow(total, 1.0 / (b - a));
            if (factor < 1 / FactorTolerance || factor > FactorTolerance)
            {
                bool vanish = factor < 1;
                double limit = vanish ? 1e-3 : 1e3;
                int depth = (int)Math.Ceiling(Math.Log(limit) / Math.Log(factor));
                string at = rows[b].Name;
                for (int i = a + 1; i <= b; i++)
                {
                    double r = rows[i].ActivationStd / rows[a].ActivationStd;
                    if (vanish ? r < limit : r > limit) { at = rows[i].Name; break; }
                }
                bool relu = layers.Count(l => l.Activation?.IsRectifier == true) * 2 >= layers.Count;
                warnings.Add(new(at, FormattableString.Invariant(
                    $"the activation std {(vanish ? "shrinks" : "grows")} by a factor {factor:G3} per layer ")
                    + FormattableString.Invariant($"(x{total:G3} from {rows[a].Name} to {rows[b].Name}): ")
                    + FormattableString.Invariant($"at this rate the signal {(vanish ? "falls below 1e-3" : "rises above 1e3")} ")
                    + "of the first layer's "
                    + FormattableString.Invariant($"after {depth} layers, and the gradients {(vanish ? "vanish" : "explode")} with it"),
                    relu ? "scale each layer by its fan_in: --init kaiming-normal (Var(W) = 2/fan_in) or --init auto"
                         : "scale each layer by its fan_in and activation: "
                           + "--init auto (Xavier with the activation's gain for tanh/sigmoid, Kaiming for ReLU)"));
            }
        }

        // 4. Vanishing or exploding weight gradients, first layer against last.
        var gradRows = Enumerable.Range(0, rows.Count).Where(i => rows[i].GradStd > 0 && double.IsFinite(rows[i].GradStd)).ToList();
        if (gradRows.Count >= 3)
        {
            double ratio = rows[gradRows[0]].GradStd / rows[gradRows[^1]].GradStd;
            if (ratio < 1e-3 || ratio > 1e3)
                warnings.Add(new(rows[gradRows[0]].Name, FormattableString.Invariant(
                    $"the weight gradient's std is {ratio:G3} times the last layer's ")
                    + FormattableString.Invariant($"({rows[gradRows[0]].GradStd:G3} vs {rows[gradRows[^1]].GradStd:G3}, ")
                    + FormattableString.Invariant($"a factor {Math.Pow(ratio, 1.0 / (gradRows[^1] - gradRows[0])):G3} per layer): ")
                    + FormattableString.Invariant($"the gradients {(ratio < 1 ? "vanish" : "explode")} on their way back ")
                    + FormattableString.Invariant($"and the first layers {(ratio < 1 ? "barely learn" : "take huge steps")}"),
                    "scale each layer by its fan_in (--init kaiming-normal before ReLU, --init auto in general), zero the biases, or add BatchNorm"));
        }

        // 5. Dead ReLUs.
        var deadRows = rows.Where(r => r.DeadFraction is > 0.5).ToList();
        if (deadRows.Count > 0)
            warnings.Add(new(deadRows[0].Name, FormattableString.Invariant(
                $"more than half of the ReLUs output 0 for every example of the batch (dead: they pass no gradient) ")
                + FormattableString.Invariant($"after {deadRows.Count} layer(s): ")
                + FormattableString.Invariant(
                    $"{string.Join(", ", deadRows.Take(8).Select(r => $"{r.Name} {r.DeadFraction:P0}"))}{(deadRows.Count > 8 ? ", ..." : "")}"),
                "zero the biases and use Kaiming init (--init kaiming-normal or auto); "
                + "if it persists in training, lower the learning rate or use LeakyReLU"));

        // 6. BatchNorm: the choice matters less.
        if (hasBatchNorm)
        {
            var bns = model.NamedModules().Where(m => WeightLayer.IsBatchNorm(m.Module)).ToList();
            warnings.Add(new(bns[0].Name, $"the model has {bns.Count} BatchNorm layer(s): "
                + "in training they renormalize each channel to zero mean and unit variance over the batch, "
                + "so the signal cannot vanish or explode across them and the init's scale matters much less "
                + "(Ioffe & Szegedy 2015, arXiv:1502.03167); the init must still break symmetry",
                "nothing required; keep γ = 1, β = 0 (every scheme does) and a random fan-scaled init (Kaiming before ReLU)"));
        }
        return warnings;
    }
}
