using CnnLab.Data;
using CnnLab.Init;
using CnnLab.Nn;
using CnnLab.Optim;
using CnnLab.Tensors;
using CnnLab.Viz;
using CnnLab.Init.Networks;

namespace CnnLab.Lab.Experiments;

/// <summary>
/// The notes' "zero initialization prevents learning because it does not break symmetry", measured on a
/// 784-64-64-10 MLP trained with plain SGD: all-zero weights, constant weights, and random (Kaiming)
/// weights with zero or random biases. Per hidden layer it tracks, over training, the largest difference
/// between any two units' incoming weights (and bias) — 0 means the units are still identical — and the
/// weight matrix's numerical rank (singular values from the eigenvalues of W·Wᵀ by cyclic Jacobi, in
/// double; rank = number of σᵢ &gt; σ_max·max(m, n)·ε_float32, NumPy's matrix_rank rule).
/// With all weights and biases 0 and f(0) = 0 (ReLU, tanh) every hidden output is 0, so the output
/// layer's weight gradient (δ·hᵀ) and everything behind it is exactly 0: only the output bias learns.
/// With constant weights the units compute the same value and get the same gradient, so the net acts
/// like one unit per layer (rank 1).
/// </summary>
public sealed class ZeroInitExperiment : Experiment
{
    /// <summary>Training budget: steps of SGD at the given batch size, and how often to record.</summary>
    internal sealed record Budget(int Steps, int BatchSize, int RecordEvery, int Seeds, int TrainImages);

    internal static readonly Budget QuickBudget = new(400, 64, 25, 3, 6000);
    internal static readonly Budget FullBudget = new(3000, 64, 100, 3, 60000);

    /// <summary>One way to initialize the MLP.</summary>
    internal sealed record Config(string Key, string Label, string Activation, string Weights, bool ZeroBias);

    internal static readonly Config[] Configs =
    [
        new("zeros-relu", "W = 0, b = 0, ReLU", "relu", "zeros", true),
        new("zeros-tanh", "W = 0, b = 0, tanh", "tanh", "zeros", true),
        new("constant-relu", "W = 0.01, b = 0, ReLU", "relu", "constant:0.01", true),
        new("constant-tanh", "W = 0.01, b = 0, tanh", "tanh", "constant:0.01", true),
        new("kaiming-zero-bias", "Kaiming W, b = 0, ReLU", "relu", "kaiming-normal", true),
        new("kaiming-random-bias", "Kaiming W, random b, ReLU", "relu", "kaiming-normal", false),
    ];

    /// <summary>What one training run measured.</summary>
    internal sealed record RunResult(
        Config Config, double[] Losses, int[] RecordSteps, int[][] Rank, double[][] RowDiff, double[] MaxAbsGrad,
        double FinalLoss, double TestAccuracy);

    private readonly Budget? _budget;

    public ZeroInitExperiment() { }

    internal ZeroInitExperiment(Budget budget) => _budget = budget;

    public override ExperimentInfo Info { get; } = new(
        Name: "zero-init",
        Title: "Zero and constant weights: does symmetry ever break?",
        Topic: "Initialization",
        Order: 10,
        Claim: "Zero initialization prevents learning because it does not break symmetry: all neurons compute the same output, "
            + "all gradients are identical, neurons never specialize. Bias = 0 is fine; weights = 0 is fatal.");

    public override ExperimentResult Run(LabContext ctx)
    {
        var budget = _budget ?? (ctx.Quick ? QuickBudget : FullBudget);
        var train = ctx.Data.Train.Count > budget.TrainImages ? ctx.Data.Train.Take(budget.TrainImages) : ctx.Data.Train;
        var runs = new Dictionary<string, List<RunResult>>();
        foreach (var c in Configs)
        {
            // Symmetric inits draw nothing random from the weights: one run. Random inits: several seeds, for the noise.
            int seeds = c.Weights.StartsWith("kaiming", StringComparison.Ordinal) ? budget.Seeds : 1;
            runs[c.Key] = Enumerable.Range(0, seeds).Select(s => RunOne(c, train, ctx.Data.Test, budget, ctx.Seed + 101 * s)).ToList();
            ctx.Log.WriteLine(FormattableString.Invariant($"      {c.Label}: test accuracy {runs[c.Key].Average(r => r.TestAccuracy):0.000}"));
        }

        var labels = ctx.Data.Test.Count == 0 ? [] : Enumerable.Range(0, ctx.Data.Test.Count).Select(ctx.Data.Test.Label).ToArray();
        double majority = labels.Length == 0 ? 0.1 : labels.GroupBy(l => l).Max(g => g.Count()) / (double)labels.Length;

        var metrics = new Dictionary<string, object?>
        {
            ["model"] = "784-64-64-10 MLP, SGD lr 0.1, no momentum",
            ["steps"] = budget.Steps,
            ["batch_size"] = budget.BatchSize,
            ["train_images"] = train.Count,
            ["majority_class_accuracy"] = majority,
        };
        foreach (var (key, list) in runs)
        {
            var r0 = list[0];
            metrics[key] = new Dictionary<string, object?>
            {
                ["label"] = r0.Config.Label,
                ["test_accuracy"] = list.Select(r => r.TestAccuracy).ToArray(),
                ["final_loss"] = list.Select(r => r.FinalLoss).ToArray(),
                ["record_steps"] = r0.RecordSteps,
                ["rank_hidden1"] = r0.Rank[0],
                ["rank_hidden2"] = r0.Rank[1],
                ["max_row_diff_hidden1"] = r0.RowDiff[0],
                ["max_row_diff_hidden2"] = r0.RowDiff[1],
                ["max_abs_grad_hidden1"] = list.Max(r => r.MaxAbsGrad[0]),
                ["max_abs_grad_hidden2"] = list.Max(r => r.MaxAbsGrad[1]),
                ["losses"] = r0.Losses,
            };
        }

        var figures = Figures(ctx, runs, budget);

        // The numbers the verdict rests on.
        double Acc(string k) => runs[k].Average(r => r.TestAccuracy);
        double MaxDiff(string k) => runs[k].Max(r => Math.Max(r.RowDiff[0].Max(), r.RowDiff[1].Max()));
        int MaxRank(string k) => runs[k].Max(r => Math.Max(r.Rank[0].Max(), r.Rank[1].Max()));
        int MinRank(string k) => runs[k].Min(r => Math.Min(r.Rank[0].Min(), r.Rank[1].Min()));
        double Grad(string k) => runs[k].Max(r => Math.Max(r.MaxAbsGrad[0], r.MaxAbsGrad[1]));
        string[] symmetric = ["zeros-relu", "zeros-tanh", "constant-relu", "constant-tanh"];
        bool identical = symmetric.All(k => MaxDiff(k) == 0);
        double worstDiff = symmetric.Max(MaxDiff);
        bool rankOne = symmetric.All(k => MaxRank(k) <= 1);
        double zeroGrad = Math.Max(Grad("zeros-relu"), Grad("zeros-tanh"));
        double tanhAtZero = Functional.Tanh(Tensor.Zeros(64)).Data[0];
        metrics["tanh_of_zero_float32"] = tanhAtZero;
        double zerosAcc = Math.Max(Acc("zeros-relu"), Acc("zeros-tanh"));
        bool zerosAtChance = zerosAcc <= majority + 0.02;
        double constAcc = Math.Max(Acc("constant-relu"), Acc("constant-tanh"));
        double zb = Acc("kaiming-zero-bias"), rb = Acc("kaiming-random-bias");
        double noise = Math.Max(Spread(runs["kaiming-zero-bias"]), Spread(runs["kaiming-random-bias"]));
        bool biasFine = Math.Abs(zb - rb) <= Math.Max(2 * noise, 0.01);
        int randomRank = MinRank("kaiming-zero-bias");
        metrics["symmetric_units_identical"] = identical;
        metrics["symmetric_max_row_diff"] = worstDiff;
        metrics["symmetric_max_rank"] = symmetric.Max(MaxRank);
        metrics["random_min_rank"] = randomRank;
        metrics["zeros_max_abs_hidden_grad"] = zeroGrad;
        metrics["zero_bias_accuracy"] = zb;
        metrics["random_bias_accuracy"] = rb;
        metrics["seed_spread_accuracy"] = noise;
        bool agrees = identical && rankOne && zerosAtChance && biasFine;
        metrics["agrees"] = agrees;

        string verdict =
            SymmetrySentence(budget.Steps, worstDiff, symmetric.Max(MaxRank), randomRank)
            + ZeroWeightsSentence(Grad("zeros-relu"), Grad("zeros-tanh"), tanhAtZero)
            + FormattableString.Invariant($"test accuracy is {Acc("zeros-relu"):0.000} (ReLU) / {Acc("zeros-tanh"):0.000} (tanh), ")
            + FormattableString.Invariant($"the majority-class rate {majority:0.000}. ")
            + ConstantSentence(Acc("constant-relu"), Acc("constant-tanh"), zb)
            + (constAcc > majority + 0.1
                ? " — above chance, so \"learning collapses\" is a simplification: it learns, but only what a single unit per layer can. "
                : " — near chance. ")
            + FormattableString.Invariant($"Zero biases with random weights: {zb:0.000} vs {rb:0.000} with random biases ")
            + FormattableString.Invariant($"(seed spread {noise:0.000}), ")
            + (biasFine ? "the same within noise. " : "a difference beyond the seed noise. ")
            + (agrees ? "This agrees with the notes: weights = 0 is fatal by symmetry, bias = 0 is fine."
                      : "This does not fully agree with the notes: " + string.Join("; ", new[]
                        {
                            identical ? null : "units of a symmetric init drifted apart (floating-point rounding)",
                            rankOne ? null : "a symmetric init's weight rank rose above 1",
                            zerosAtChance ? null : "zero weights learned above chance",
                            biasFine ? null : "zero biases changed the accuracy beyond noise",
                        }.Where(s => s is not null)) + ".");
        var table = new LabTable("Zero and constant weights vs random (test accuracy, mean over seeds)",
            ["init", "test accuracy", "max row difference", "max rank (hidden 1, 2)", "max |hidden grad|"],
            runs.Select(kv => new[]
            {
                kv.Value[0].Config.Label,
                FormattableString.Invariant($"{kv.Value.Average(r => r.TestAccuracy):0.000}"),
                FormattableString.Invariant($"{MaxDiff(kv.Key):G3}"),
                FormattableString.Invariant($"{kv.Value.Max(r => r.Rank[0].Max())}, {kv.Value.Max(r => r.Rank[1].Max())}"),
                FormattableString.Invariant($"{Grad(kv.Key):G3}"),
            }).ToList());
        return new ExperimentResult { Claim = Claim, Verdict = verdict, Agrees = agrees, Metrics = metrics, Figures = figures, Tables = [table] };
    }

    private static double Spread(List<RunResult> runs) =>
        runs.Count < 2 ? 0 : runs.Max(r => r.TestAccuracy) - runs.Min(r => r.TestAccuracy);

    private static List<Figure> Figures(LabContext ctx, Dictionary<string, List<RunResult>> runs, Budget budget)
    {
        double[] Steps(int n) => Enumerable.Range(1, n).Select(i => (double)i).ToArray();
        var lossSeries = runs.Select(kv => (kv.Value[0].Config.Label, Steps(budget.Steps), Smooth(kv.Value[0].Losses, 10))).ToList();
        var rankSeries = new List<(string, double[], double[])>();
        foreach (var (key, list) in runs)
        {
            if (key is "constant-tanh" or "kaiming-random-bias") continue; // the same lines as constant-relu / kaiming-zero-bias
            var r = list[0];
            var x = r.RecordSteps.Select(s => (double)s).ToArray();
            rankSeries.Add((r.Config.Label, x, r.Rank[0].Select(v => (double)v).ToArray()));
        }
        return
        [
            Figure.Of(LinePlots.Curves("Training loss (moving average of 10 steps)", "step", "cross-entropy", lossSeries, ctx.FigurePath("loss")),
                LossCaption),
            Figure.Of(LinePlots.Curves("Rank of the first hidden layer's weight matrix (64 x 784)", "step", "numerical rank", rankSeries,
                ctx.FigurePath("rank"), markers: true),
                RankCaption),
        ];
    }

    private static double[] Smooth(double[] v, int k)
    {
        var r = new double[v.Length];
        for (int i = 0; i < v.Length; i++)
        {
            int lo = Math.Max(0, i - k + 1);
            double s = 0;
            int n = 0;
            for (int j = lo; j <= i; j++) if (double.IsFinite(v[j])) { s += v[j]; n++; }
            r[i] = n == 0 ? double.NaN : s / n;
        }
        return r;
    }

    /// <summary>Builds the MLP for <paramref name="c"/>, trains it and records symmetry statistics.</summary>
    internal static RunResult RunOne(Config c, ImageDataset train, ImageDataset test, Budget budget, long seed)
    {
        var g = new Generator(seed);
        var hidden = new[] { new Linear(784, 64, generator: g), new Linear(64, 64, generator: g) };
        var output = new Linear(64, 10, generator: g);
        var model = new Sequential(new Flatten(), hidden[0], Nn.Models.ModelZoo.Activation(c.Activation),
            hidden[1], Nn.Models.ModelZoo.Activation(c.Activation), output);
        // Keep PyTorch's default biases (U(±1/√fan_in)) for the random-bias run; the scheme zeros them otherwise.
        var biases = model.Parameters().Where(p => p.Rank == 1).Select(p => p.ToArray()).ToList();
        InitScheme.Parse(c.Weights).Apply(model, new Generator(seed + 1));
        if (!c.ZeroBias)
        {
            int i = 0;
            foreach (var p in model.Parameters().Where(p => p.Rank == 1)) biases[i++].CopyTo(p.Data);
        }

        var steps = new List<int>();
        var rank = new[] { new List<int>(), new List<int>() };
        var diff = new[] { new List<double>(), new List<double>() };
        var maxGrad = new double[2];
        void Record(int step)
        {
            steps.Add(step);
            for (int l = 0; l < 2; l++)
            {
                rank[l].Add(NumericalRank(hidden[l].Weight));
                diff[l].Add(MaxRowDifference(hidden[l].Weight, hidden[l].Bias));
            }
        }
        Record(0);
        var opt = new SGD(model.Parameters(), 0.1);
        var losses = LabTraining.Train(model, opt, LabTraining.Loader(train, budget.BatchSize, seed), budget.Steps, (step, _) =>
        {
            for (int l = 0; l < 2; l++)
                if (hidden[l].Weight.Grad is { } gr) maxGrad[l] = Math.Max(maxGrad[l], MaxAbs(gr.Data));
            if ((step + 1) % budget.RecordEvery == 0 || step + 1 == budget.Steps) Record(step + 1);
        });
        var eval = LabTraining.Evaluate(model, test);
        return new RunResult(c, losses, steps.ToArray(), rank.Select(r => r.ToArray()).ToArray(), diff.Select(d => d.ToArray()).ToArray(),
            maxGrad, LabTraining.Tail(losses, 20), eval.Accuracy);
    }

    private static double MaxAbs(ReadOnlySpan<float> values)
    {
        double m = 0;
        foreach (float v in values) m = Math.Max(m, Math.Abs(v));
        return m;
    }

    /// <summary>
    /// Largest difference between any two units (rows of [W | b]): max over columns of (max − min) over rows.
    /// 0 exactly when every unit has the same incoming weights and bias.
    /// </summary>
    internal static double MaxRowDifference(Tensor weight, Tensor? bias)
    {
        int rows = weight.Shape[0], cols = weight.Numel / rows;
        var w = weight.Data;
        double worst = 0;
        for (int j = 0; j < cols; j++)
        {
            float lo = w[j], hi = w[j];
            for (int i = 1; i < rows; i++) { float v = w[i * cols + j]; lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
            worst = Math.Max(worst, (double)hi - lo);
        }
        if (bias is not null)
        {
            var b = bias.Data;
            float lo = b[0], hi = b[0];
            foreach (float v in b) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
            worst = Math.Max(worst, (double)hi - lo);
        }
        return worst;
    }

    /// <summary>
    /// Numerical rank of a [m, n] matrix (m ≤ n is cheapest): singular values σᵢ = √λᵢ(W·Wᵀ), counted when
    /// σᵢ &gt; σ_max·max(m, n)·ε with ε = 2⁻²³ (float32), as numpy.linalg.matrix_rank does.
    /// </summary>
    internal static int NumericalRank(Tensor weight)
    {
        int m = weight.Shape[0], n = weight.Numel / m;
        var w = weight.Data;
        var gram = new double[m, m];
        for (int i = 0; i < m; i++)
            for (int j = i; j < m; j++)
            {
                double s = 0;
                for (int k = 0; k < n; k++) s += (double)w[i * n + k] * w[j * n + k];
                gram[i, j] = gram[j, i] = s;
            }
        var sigma = SymmetricEigenvalues(gram).Select(l => Math.Sqrt(Math.Max(0, l))).ToArray();
        double max = sigma.Max();
        if (max == 0) return 0;
        double tol = max * Math.Max(m, n) * Math.Pow(2, -23);
        return sigma.Count(s => s > tol);
    }

    /// <summary>
    /// Eigenvalues of a symmetric matrix by the cyclic Jacobi method (Golub &amp; Van Loan, §8.5); <paramref name="a"/> is overwritten.
    /// </summary>
    internal static double[] SymmetricEigenvalues(double[,] a)
    {
        int n = a.GetLength(0);
        double total = 0;
        foreach (double v in a) total += v * v;
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0;
            for (int p = 0; p < n; p++)
                for (int q = p + 1; q < n; q++) off += a[p, q] * a[p, q];
            if (off <= 1e-30 * total || off == 0) break;
            for (int p = 0; p < n; p++)
                for (int q = p + 1; q < n; q++)
                {
                    double apq = a[p, q];
                    if (apq == 0) continue;
                    // Rotation that zeroes a[p,q]: t = tan θ, the smaller root of t² + 2τt − 1 = 0.
                    double tau = (a[q, q] - a[p, p]) / (2 * apq);
                    double t = (tau >= 0 ? 1 : -1) / (Math.Abs(tau) + Math.Sqrt(1 + tau * tau));
                    double c = 1 / Math.Sqrt(1 + t * t), s = t * c;
                    for (int k = 0; k < n; k++)
                    {
                        double akp = a[k, p], akq = a[k, q];
                        a[k, p] = c * akp - s * akq;
                        a[k, q] = s * akp + c * akq;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double apk = a[p, k], aqk = a[q, k];
                        a[p, k] = c * apk - s * aqk;
                        a[q, k] = s * apk + c * aqk;
                    }
                }
        }
        return Enumerable.Range(0, n).Select(i => a[i, i]).ToArray();
    }

    private const string LossCaption =
        "The two W = 0 runs draw one line (the tanh line hides the ReLU one). Zero weights learn nothing but the output bias "
        + "(the loss drops only to the entropy of the class frequencies); constant weights learn as a one-unit-wide net; "
        + "random weights, with zero or random biases, learn alike.";

    private const string RankCaption =
        "Numerical rank from the singular values (Jacobi eigenvalues of W·Wᵀ in double). Zero weights stay rank 0, "
        + "constant weights rank 1: identical rows remain identical under SGD. Random weights are full rank (64) throughout. "
        + "(Constant tanh and random-bias runs draw the same lines and are left out; the second hidden layer behaves the same, "
        + "see the metrics.)";

    private static string SymmetrySentence(int steps, double worstDiff, int maxRank, int randomRank) =>
        FormattableString.Invariant($"Trained {steps} SGD steps. ")
        + "With zero or constant weights the hidden units never became different: "
        + FormattableString.Invariant($"the largest difference between two units' incoming weights stayed {worstDiff:G3} over all of training, ")
        + FormattableString.Invariant($"and every hidden weight matrix kept rank at most {maxRank} ")
        + FormattableString.Invariant($"(random Kaiming weights: rank {randomRank} of 64). ");

    private static string ZeroWeightsSentence(double reluGrad, double tanhGrad, double tanhAtZero) =>
        "With W = 0 and b = 0 the hidden layers output f(0): with ReLU exactly 0, "
        + FormattableString.Invariant($"so every hidden-weight gradient is {reluGrad:G3} and only the output bias learns; ")
        + (tanhAtZero == 0
            ? FormattableString.Invariant($"with tanh also 0, gradient {tanhGrad:G3}; ")
            : FormattableString.Invariant($"with tanh the float32 kernel returns tanh(0) = {tanhAtZero:G3} instead of 0, ")
                + FormattableString.Invariant($"which leaks hidden-weight gradients of at most {tanhGrad:G3} (rank 1, still identical units); "));

    private static string ConstantSentence(double reluAcc, double tanhAcc, double zb) =>
        "Constant weights (0.01) do get gradients, but the same one for every unit, so the net is a one-unit-wide net: "
        + FormattableString.Invariant($"accuracy {reluAcc:0.000} (ReLU) / {tanhAcc:0.000} (tanh) vs {zb:0.000} with random weights");
}
