using System.Globalization;
using CnnLab.Nn.Models;
using CnnLab.Tensors;
using CnnLab.Viz;
using static System.FormattableString;

namespace CnnLab.Lab.Experiments;

/// <summary>
/// The notes' "vanilla gradient descent uses the same learning rate for all parameters, is sensitive to
/// curvature, slow, and gets stuck near saddle points; Adam = momentum + RMSprop", measured twice:
/// (a) SGD, SGD+momentum, Nesterov, RMSprop, Adam and AdamW training the same CNN from the same init on
/// the same data order (loss curves, final test accuracy), and (b) the same six CnnLab optimizers on a
/// 2-element parameter over three 2-D surfaces (a saddle, Rosenbrock's valley, an ill-conditioned bowl),
/// their paths drawn over contour lines. Adam: Kingma and Ba 2014, arXiv:1412.6980; RMSprop: Tieleman and
/// Hinton 2012 (lecture 6.5); momentum: Polyak 1964, Sutskever et al. 2013; Nesterov 1983.
/// </summary>
public sealed class OptimizersExperiment : Experiment
{
    private readonly OptimizersBudget? _budget;

    public OptimizersExperiment() { }

    internal OptimizersExperiment(OptimizersBudget budget) => _budget = budget;

    public override ExperimentInfo Info { get; } = new(
        Name: "optimizers",
        Title: "SGD, momentum, RMSprop, Adam: curvature, saddles and speed",
        Topic: "Optimizers",
        Order: 60,
        Claim: "Vanilla gradient descent uses the same learning rate for all parameters, is sensitive to curvature, slow, "
            + "and gets stuck near saddle points; Adam = momentum + RMSprop (per-parameter step sizes).");

    public override ExperimentResult Run(LabContext ctx)
    {
        var b = _budget ?? (ctx.Quick ? OptimizersBudget.Quick : OptimizersBudget.Full);
        var metrics = new Dictionary<string, object?> { ["model"] = b.Model, ["steps"] = b.Steps, ["batch_size"] = b.BatchSize };
        var figures = new List<Figure>();

        // (a) Training: same model, init and data order for every optimizer.
        var test = ctx.Data.Test.Take(b.TestImages);
        var losses = new Dictionary<OptimizerKind, double[]>();
        var accuracy = new Dictionary<OptimizerKind, double>();
        foreach (var k in OptimizerKinds.All)
        {
            var model = ModelZoo.Create(b.Model, new Generator(ctx.Seed));
            double lr = OptimizersBudget.TrainingLr(k);
            losses[k] = LabTraining.Train(model, OptimizerKinds.Create(k, model.Parameters(), lr),
                LabTraining.Loader(ctx.Data.Train, b.BatchSize, ctx.Seed), b.Steps);
            accuracy[k] = LabTraining.Evaluate(model, test).Accuracy;
            ctx.Log.WriteLine(Invariant(
                $"  {OptimizerKinds.Label(k)} lr {lr}: loss {LabTraining.Tail(losses[k], 20):0.000}, test {accuracy[k]:0.000}"));
        }
        var tail = OptimizerKinds.All.ToDictionary(k => k, k => LabTraining.Tail(losses[k], 20));
        metrics["training"] = OptimizerKinds.All.ToDictionary(k => OptimizerKinds.Label(k), k =>
            (object?)new Dictionary<string, object?>
            {
                ["lr"] = OptimizersBudget.TrainingLr(k), ["final_loss"] = tail[k], ["test_accuracy"] = accuracy[k], ["losses"] = losses[k],
            });
        figures.Add(Figure.Of(LinePlots.Curves(Invariant($"Training loss, {b.Model}, {b.Steps} steps of {b.BatchSize}"), "step", "cross-entropy",
            OptimizerKinds.All.Select(k => (Invariant($"{OptimizerKinds.Label(k)} (lr {OptimizersBudget.TrainingLr(k)}) test {accuracy[k]:0.000}"),
                Enumerable.Range(1, b.Steps).Select(i => (double)i).ToArray(), Smooth(losses[k], 10))).ToList(), ctx.FigurePath("training-loss")),
            TrainingCaption));

        // (b) Paths on 2-D surfaces.
        var surfaces = new[] { TestSurface.Saddle(b.SaddleSteps), TestSurface.Rosenbrock(b.RosenbrockSteps), TestSurface.Bowl(b.BowlSteps) };
        var paths = new Dictionary<string, Dictionary<OptimizerKind, SurfacePathResult>>();
        foreach (var s in surfaces)
        {
            double bound = s.Key == "saddle" ? 2 : 1e3;
            paths[s.Key] = OptimizerKinds.All.ToDictionary(k => k, k => SurfacePath.Run(k, s.Lrs[k], s.F, s.Start, s.Steps, bound));
            metrics[s.Key] = OptimizerKinds.All.ToDictionary(k => OptimizerKinds.Label(k), k =>
            {
                var p = paths[s.Key][k];
                return (object?)new Dictionary<string, object?>
                {
                    ["lr"] = s.Lrs[k], ["steps_run"] = p.X.Length - 1, ["final_loss"] = p.FinalLoss, ["final_x"] = p.X[^1], ["final_y"] = p.Y[^1],
                    ["distance_to_minimum"] = s.Minimum is { } m ? p.DistanceTo(m.X, m.Y) : null, ["escape_step"] = p.EscapeStep,
                    ["path_x"] = p.X, ["path_y"] = p.Y,
                };
            });
            figures.Add(Figure.Of(ContourPaths.Plot(s.Title, s.Value, s.XRange, s.YRange,
                OptimizerKinds.All.Select(k =>
                    (Invariant($"{OptimizerKinds.Label(k)} (lr {s.Lrs[k]:0.####})"), paths[s.Key][k].X, paths[s.Key][k].Y)).ToList(),
                ctx.FigurePath($"paths-{s.Key}"), levels: 20, logLevels: s.LogLevels), Caption(s, paths[s.Key])));
        }
        // On the saddle's stable axis itself (y = 0 exactly) no gradient ever points along y.
        var onAxis = OptimizerKinds.All.ToDictionary(k => k, k => SurfacePath.Run(k, 0.05, surfaces[0].F, (1, 0), b.SaddleSteps, 2));
        metrics["saddle_from_axis_escaped"] = OptimizerKinds.All.ToDictionary(k => OptimizerKinds.Label(k),
            k => (object?)(onAxis[k].EscapeStep is not null));

        var table = new LabTable("Per optimizer and surface",
            ["optimizer", "saddle: steps to |y| > 1", "Rosenbrock: distance to (1, 1)", "Rosenbrock: final f",
            "bowl: distance to (0, 0)", "bowl: final f", Invariant($"{b.Model}: final loss"), Invariant($"{b.Model}: test acc")],
            OptimizerKinds.All.Select(k => new[]
            {
                OptimizerKinds.Label(k), paths["saddle"][k].EscapeStep?.ToString(CultureInfo.InvariantCulture) ?? $"not in {b.SaddleSteps}",
                G(paths["rosenbrock"][k].DistanceTo(1, 1)), G(paths["rosenbrock"][k].FinalLoss), G(paths["bowl"][k].DistanceTo(0, 0)),
                G(paths["bowl"][k].FinalLoss), tail[k].ToString("0.000", CultureInfo.InvariantCulture),
                accuracy[k].ToString("0.000", CultureInfo.InvariantCulture),
            }).ToList());

        var (verdict, agrees) = Verdict(b, surfaces, paths, onAxis, tail, accuracy, metrics);
        return new ExperimentResult { Claim = Claim, Verdict = verdict, Agrees = agrees, Metrics = metrics, Figures = figures, Tables = [table] };
    }

    private static string G(double v) => double.IsFinite(v) ? v.ToString("0.###e0", CultureInfo.InvariantCulture) : "diverged";

    private static double[] Smooth(double[] v, int w) =>
        Enumerable.Range(0, v.Length).Select(i => v.Skip(Math.Max(0, i - w + 1)).Take(Math.Min(w, i + 1)).Average()).ToArray();

    private static string Caption(TestSurface s, Dictionary<OptimizerKind, SurfacePathResult> p) => s.Key switch
    {
        "saddle" => "Start just off the saddle's stable axis; the y-gradient is 2y, " +
            "so plain SGD's |y| grows only by (1 + 2·lr) per step. Steps to |y| > 1: " +
            string.Join(", ", OptimizerKinds.All.Select(k =>
                $"{OptimizerKinds.Label(k)} {p[k].EscapeStep?.ToString(CultureInfo.InvariantCulture) ?? "never"}")) + ".",
        "rosenbrock" => Invariant($"Log-spaced contours; {s.Steps} steps. Distance to the minimum (1, 1) at the end: ") +
            string.Join(", ", OptimizerKinds.All.Select(k => $"{OptimizerKinds.Label(k)} {G(p[k].DistanceTo(1, 1))}")) + ".",
        _ => "Curvature 1 along x and 100 along y: one lr for both coordinates must stay below 2/100, " +
            "so SGD zig-zags in y and crawls in x. " + Invariant($"Distance to (0, 0) after {s.Steps} steps: ") +
            string.Join(", ", OptimizerKinds.All.Select(k => $"{OptimizerKinds.Label(k)} {G(p[k].DistanceTo(0, 0))}")) + ".",
    };

    private const string TrainingCaption =
        "Cross-entropy per step (moving average of 10) from the same init and data order; "
        + "the legend gives each optimizer's fixed lr and final test accuracy.";

    private static (string, bool) Verdict(OptimizersBudget b, TestSurface[] surfaces,
        Dictionary<string, Dictionary<OptimizerKind, SurfacePathResult>> paths,
        Dictionary<OptimizerKind, SurfacePathResult> onAxis, Dictionary<OptimizerKind, double> tail, Dictionary<OptimizerKind, double> accuracy,
        Dictionary<string, object?> metrics)
    {
        var saddle = paths["saddle"];
        var bowl = paths["bowl"];
        var rosen = paths["rosenbrock"];
        int Esc(OptimizerKind k) => saddle[k].EscapeStep ?? int.MaxValue;
        string EscText(OptimizerKind k) => saddle[k].EscapeStep?.ToString(CultureInfo.InvariantCulture) ?? $"not within {b.SaddleSteps}";
        double sgdLr = surfaces[0].Lrs[OptimizerKind.Sgd];
        double predicted = Math.Log(1 / surfaces[0].Start.Y) / Math.Log(1 + 2 * sgdLr);
        metrics["saddle_sgd_predicted_escape_step"] = predicted;

        bool saddleOk = Esc(OptimizerKind.Sgd) > Esc(OptimizerKind.Adam);
        double bowlSgd = bowl[OptimizerKind.Sgd].DistanceTo(0, 0), bowlAdam = bowl[OptimizerKind.Adam].DistanceTo(0, 0);
        bool bowlOk = bowlSgd > bowlAdam;
        bool trainOk = tail[OptimizerKind.Sgd] > tail[OptimizerKind.Adam];
        bool noneFromAxis = onAxis.Values.All(p => p.EscapeStep is null);
        // First step on the bowl: SGD moves each coordinate in proportion to its gradient, Adam by ≈ lr in each.
        double Ratio(SurfacePathResult p) => Math.Abs(p.Y[1] - p.Y[0]) / Math.Abs(p.X[1] - p.X[0]);
        double sgdRatio = Ratio(bowl[OptimizerKind.Sgd]), adamRatio = Ratio(bowl[OptimizerKind.Adam]);
        metrics["bowl_first_step_ratio_y_over_x_sgd"] = sgdRatio;
        metrics["bowl_first_step_ratio_y_over_x_adam"] = adamRatio;
        bool agrees = saddleOk && bowlOk && trainOk;
        metrics["agrees_saddle"] = saddleOk;
        metrics["agrees_bowl"] = bowlOk;
        metrics["agrees_training"] = trainOk;

        string F(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);
        var bestRosen = OptimizerKinds.All.MinBy(k => double.IsFinite(rosen[k].DistanceTo(1, 1)) ? rosen[k].DistanceTo(1, 1) : double.MaxValue);
        var bestTrain = OptimizerKinds.All.MinBy(k => double.IsFinite(tail[k]) ? tail[k] : double.MaxValue);
        var parts = new List<string>
        {
            Invariant($"Curvature: on the bowl (curvatures 1 and 100) SGD's first step moves y {sgdRatio:0.0}× as far as x (the gradient ratio), ")
                + Invariant($"Adam's {adamRatio:0.00}× (per-parameter scaling); ")
                + Invariant($"after {b.BowlSteps} steps SGD at its best fixed lr 2/101 is {G(bowlSgd)} from the minimum, Adam {G(bowlAdam)}, ")
                + Invariant($"RMSprop {G(bowl[OptimizerKind.RMSprop].DistanceTo(0, 0))}, ")
                + Invariant($"momentum {G(bowl[OptimizerKind.Momentum].DistanceTo(0, 0))}."),
            Invariant($"Saddle: from (1, 0.001) plain SGD needs {EscText(OptimizerKind.Sgd)} steps to reach |y| > 1 ")
                + Invariant($"(predicted ln(1000)/ln(1 + 2·lr) = {predicted:0}), momentum {EscText(OptimizerKind.Momentum)}, ")
                + Invariant($"Nesterov {EscText(OptimizerKind.Nesterov)}, RMSprop {EscText(OptimizerKind.RMSprop)}, ")
                + Invariant($"Adam {EscText(OptimizerKind.Adam)}: ")
                + "SGD is slow there, not stuck — its escape is exponential, just with a small rate.",
            noneFromAxis
                ? "Started exactly on the stable axis (y = 0) no optimizer escapes, Adam included: the y-gradient is exactly 0, "
                    + "so \"stuck\" only happens on that measure-zero set and is not cured by adaptivity (minibatch noise cures it in practice)."
                : "Started exactly on the stable axis (y = 0) some optimizer still left it (rounding noise).",
            Invariant($"Rosenbrock after {b.RosenbrockSteps} steps: distance to (1, 1) SGD {G(rosen[OptimizerKind.Sgd].DistanceTo(1, 1))}, ")
                + Invariant($"momentum {G(rosen[OptimizerKind.Momentum].DistanceTo(1, 1))}, ")
                + Invariant($"RMSprop {G(rosen[OptimizerKind.RMSprop].DistanceTo(1, 1))}, Adam {G(rosen[OptimizerKind.Adam].DistanceTo(1, 1))}; ")
                + Invariant($"closest: {OptimizerKinds.Label(bestRosen)}.")
                + (rosen[OptimizerKind.RMSprop].DistanceTo(1, 1) > rosen[OptimizerKind.Adam].DistanceTo(1, 1)
                ? " RMSprop alone (no momentum, no bias correction) stays farther than Adam, which adds momentum to RMSprop's per-parameter scaling."
                : " Here RMSprop alone got at least as close as Adam: the momentum half of Adam did not help on this valley."),
            Invariant($"Training {b.Model} for {b.Steps} steps: final loss SGD {F(tail[OptimizerKind.Sgd])}, ")
                + Invariant($"momentum {F(tail[OptimizerKind.Momentum])}, Nesterov {F(tail[OptimizerKind.Nesterov])}, ")
                + Invariant($"RMSprop {F(tail[OptimizerKind.RMSprop])}, Adam {F(tail[OptimizerKind.Adam])}, AdamW {F(tail[OptimizerKind.AdamW])}; ")
                + Invariant($"test accuracy {F(accuracy[OptimizerKind.Sgd])}, {F(accuracy[OptimizerKind.Momentum])}, ")
                + Invariant($"{F(accuracy[OptimizerKind.Nesterov])}, {F(accuracy[OptimizerKind.RMSprop])}, ")
                + Invariant($"{F(accuracy[OptimizerKind.Adam])}, {F(accuracy[OptimizerKind.AdamW])}; ")
                + Invariant($"lowest loss: {OptimizerKinds.Label(bestTrain)}."),
        };
        parts.Add(agrees
            ? "Verdict: agrees — plain SGD is slower than Adam on the saddle, the ill-conditioned bowl and the CNN; "
                + "\"stuck\" is an overstatement (slow, not stuck), and momentum alone already closes much of the gap."
            : "Verdict: does not fully agree — plain SGD was not slower than Adam on: "
                + string.Join(", ", new[] { (saddleOk, "the saddle"), (bowlOk, "the bowl"), (trainOk, "the CNN") }
                    .Where(t => !t.Item1).Select(t => t.Item2))
                + ".");
        return (string.Join(" ", parts), agrees);
    }
}
