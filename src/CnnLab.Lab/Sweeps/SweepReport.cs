using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using CnnLab.IO;
using CnnLab.Viz;
using static System.FormattableString;

namespace CnnLab.Lab.Sweeps;

/// <summary>
/// The report of a finished sweep, in the lab's style (one self-contained page, figures as data URIs, no scripts): the
/// statement of which differences exceed the seed noise, the ranked table with mean ± 95% interval over seeds, heatmaps of
/// mean test accuracy when the grid has two factors (one per value of the others when it has more), mean test-accuracy
/// curves of every configuration, the training loss of every cell, and the table of cells. Also writes results.json.
/// </summary>
public static class SweepReport
{
    /// <summary>At most this many per-configuration loss figures (a big sweep keeps its overview and tables).</summary>
    public const int MaxCurveFigures = 24;

    /// <summary>At most this many heatmaps (one per combination of the factors beyond the first two).</summary>
    public const int MaxHeatmaps = 8;

    /// <summary>Writes <c>index.html</c>, <c>results.json</c> and the figures (<c>figures/</c>) into <paramref name="folder"/>.</summary>
    public static string Write(SweepSpec spec, IReadOnlyList<SweepCellResult> results, string folder)
    {
        var summary = SweepSummary.Of(spec, results);
        var figuresDir = Path.Combine(folder, "figures");
        Directory.CreateDirectory(figuresDir);
        var figures = Figures(spec, results, summary, figuresDir);
        var sb = new StringBuilder(LabReport.PageHead($"CnnLab sweep: {spec.Name}"));
        sb.Append(CultureInfo.InvariantCulture, $"<h1>Sweep: {LabReport.E(spec.Name)}</h1>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<p class=\"meta\">{spec.Cells.Count} cells, {summary.Ranked.Count} configurations; ");
        sb.Append(LabReport.E(BudgetText(spec)) + "</p>\n");
        sb.Append("<section id=\"statement\" class=\"experiment\"><h2>What exceeds the seed noise</h2>");
        sb.Append(CultureInfo.InvariantCulture, $"<div class=\"verdict agrees\">{LabReport.E(summary.Statement)}</div></section>\n");
        sb.Append("<section id=\"ranking\" class=\"experiment\"><h2>Ranking</h2>");
        LabReport.AppendTables(sb, [RankTable(summary)]);
        sb.Append("</section>\n<section id=\"figures\" class=\"experiment\"><h2>Figures</h2>");
        LabReport.AppendFigures(sb, figures);
        sb.Append("</section>\n<section id=\"cells\" class=\"experiment\"><h2>Every cell</h2>");
        LabReport.AppendTables(sb, [CellTable(spec, results)]);
        sb.Append("</section>\n</body></html>\n");
        var report = Path.Combine(folder, "index.html");
        AtomicFile.WriteAllText(Path.Combine(folder, "results.json"), Json(spec, results, summary).ToJsonString(LabJson.Options));
        AtomicFile.WriteAllText(report, sb.ToString());
        return report;
    }

    private static string BudgetText(SweepSpec spec)
    {
        var b = spec.Budget;
        return Invariant($"each cell: {b.Steps} steps, schedule {b.Schedule}, accuracy at steps {string.Join(", ", b.CheckpointSteps)}; ")
            + (b.TrainImages == int.MaxValue ? "all training images" : Invariant($"{b.TrainImages:N0} training images"))
            + (b.TestImages == int.MaxValue ? ", all test images." : Invariant($", {b.TestImages:N0} test images."));
    }

    private static List<Figure> Figures(SweepSpec spec, IReadOnlyList<SweepCellResult> results, SweepSummary summary, string dir)
    {
        var figures = new List<Figure>();
        var factors = spec.Factors;
        if (factors.Count >= 2) figures.AddRange(Heatmaps(spec, summary, factors, dir));
        var steps = spec.Budget.CheckpointSteps.Select(s => (double)s).ToArray();
        var curves = summary.Ranked.Where(g => g.Test.N > 0).Select(g => (g.Label, steps,
            steps.Select((_, k) => g.Cells.Select(i => results[i].TestCurve[k]).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average())
                .ToArray())).ToList();
        if (curves.Count > 0)
            figures.Add(Figure.Of(LinePlots.Curves("Mean test accuracy over the seeds", "step", "test accuracy", curves,
                Path.Combine(dir, "test-accuracy"), markers: true),
                "Test accuracy at each checkpoint, averaged over the seeds of each configuration."));
        int k = 0;
        foreach (var g in summary.Ranked.Take(MaxCurveFigures))
        {
            var series = g.Cells.Where(i => results[i].Losses.Any(double.IsFinite)).Select(i => ($"seed {spec.Cells[i].Value("seed")}",
                Enumerable.Range(1, spec.Budget.Steps).Select(s => (double)s).ToArray(), Smooth(results[i].Losses, 10))).ToList();
            if (series.Count == 0) continue;
            figures.Add(Figure.Of(LinePlots.Curves($"Training loss: {g.Label}", "step", "cross-entropy (mean of 10 steps)", series,
                Path.Combine(dir, Invariant($"loss-{k++}"))), $"The training loss of every cell of {g.Label}, one line per seed."));
        }
        return figures;
    }

    private static IEnumerable<Figure> Heatmaps(SweepSpec spec, SweepSummary summary, IReadOnlyList<string> factors, string dir)
    {
        string rowAxis = factors[0], colAxis = factors[1];
        var rest = factors.Skip(2).ToArray();
        var rows = spec.Cells.Select(c => c.Value(rowAxis)).Distinct().ToArray();
        var cols = spec.Cells.Select(c => c.Value(colAxis)).Distinct().ToArray();
        var panels = summary.Ranked.GroupBy(g => spec.Cells[g.Cells[0]].Describe(rest)).OrderBy(p => p.Key, StringComparer.Ordinal).ToList();
        var all = summary.Ranked.Where(g => g.Test.N > 0).Select(g => g.Test.Mean).ToArray();
        if (all.Length == 0) yield break;
        (double, double)? range = all.Min() < all.Max() ? (all.Min(), all.Max()) : null;
        int k = 0;
        foreach (var panel in panels.Take(MaxHeatmaps))
        {
            var values = new double[rows.Length, cols.Length];
            for (int i = 0; i < rows.Length; i++) for (int j = 0; j < cols.Length; j++) values[i, j] = double.NaN;
            foreach (var g in panel)
            {
                var cell = spec.Cells[g.Cells[0]];
                values[Array.IndexOf(rows, cell.Value(rowAxis)), Array.IndexOf(cols, cell.Value(colAxis))] = g.Test.N > 0 ? g.Test.Mean : double.NaN;
            }
            if (!values.Cast<double>().Any(double.IsFinite)) continue;
            string where = rest.Length == 0 ? "" : $" ({panel.Key})";
            yield return Figure.Of(CnnLab.Viz.Heatmaps.Grid($"Mean test accuracy{where}", values, rows, cols, colAxis, rowAxis,
                Path.Combine(dir, Invariant($"heatmap-{k++}")), colorbarLabel: "test accuracy", range: range),
                $"Mean test accuracy over the seeds for each {rowAxis} × {colAxis}{where}; grey cells diverged or are not in the grid.");
        }
    }

    private static double[] Smooth(double[] v, int window)
    {
        var r = new double[v.Length];
        for (int i = 0; i < v.Length; i++)
        {
            var w = v.Skip(Math.Max(0, i - window + 1)).Take(Math.Min(window, i + 1)).Where(double.IsFinite).ToArray();
            r[i] = double.IsFinite(v[i]) && w.Length > 0 ? w.Average() : double.NaN;
        }
        return r;
    }

    private static LabTable RankTable(SweepSummary s) => new(
        Invariant($"Configurations by mean test accuracy (mean ± 95% interval, Student's t over the seeds; Welch p against the best)"),
        ["rank", "configuration", "seeds", "test accuracy", "95% interval ±", "train accuracy", "gap", "vs best", "Welch p", "beyond noise", "s"],
        s.Ranked.Select((g, r) =>
        {
            var c = s.Comparisons.FirstOrDefault(x => x.Group == g);
            return new[]
            {
                (r + 1).ToString(CultureInfo.InvariantCulture), g.Label,
                g.Test.Diverged == 0 ? g.Test.N.ToString(CultureInfo.InvariantCulture) : Invariant($"{g.Test.N} (+{g.Test.Diverged} diverged)"),
                Pct(g.Test.Mean), Pct(g.Test.HalfWidth95), Pct(g.Train.Mean), Pct(g.Train.Mean - g.Test.Mean),
                c is null ? "best" : Invariant($"{c.Difference * 100:+0.00;-0.00}"), c is null || double.IsNaN(c.P) ? "" : Invariant($"{c.P:0.####}"),
                c is null || double.IsNaN(c.P) ? "" : c.ExceedsNoise ? "yes" : "no", Invariant($"{g.Seconds:0}"),
            };
        }).ToList());

    private static LabTable CellTable(SweepSpec spec, IReadOnlyList<SweepCellResult> results) => new(
        "Every cell (its folder under cells/ holds result.json with every step's loss)",
        ["cell", "configuration", "seed", "test accuracy", "train accuracy", "final loss (10 steps)", "s"],
        spec.Cells.Select((c, i) => new[]
        {
            c.Id(spec.Budget), c.Describe(spec.Factors), c.Value("seed"), Pct(results[i].TestAccuracy), Pct(results[i].TrainAccuracy),
            LabTraining.Tail(results[i].Losses, 10).ToString("0.0000", CultureInfo.InvariantCulture), Invariant($"{results[i].Seconds:0.0}"),
        }).ToList());

    private static string Pct(double v) => double.IsFinite(v) ? Invariant($"{v * 100:0.00}%") : "—";

    private static JsonObject Json(SweepSpec spec, IReadOnlyList<SweepCellResult> results, SweepSummary s) => new()
    {
        ["name"] = spec.Name,
        ["budget"] = spec.Budget.ToJson(),
        ["factors"] = LabJson.ToNode(spec.Factors),
        ["statement"] = s.Statement,
        ["configurations"] = new JsonArray(s.Ranked.Select(g => (JsonNode)new JsonObject
        {
            ["configuration"] = g.Label, ["seeds"] = g.Test.N, ["diverged"] = g.Test.Diverged,
            ["test_accuracy_mean"] = LabJson.ToNode(g.Test.Mean), ["test_accuracy_ci95"] = LabJson.ToNode(g.Test.HalfWidth95),
            ["train_accuracy_mean"] = LabJson.ToNode(g.Train.Mean),
            ["welch_p_vs_best"] = LabJson.ToNode(s.Comparisons.FirstOrDefault(c => c.Group == g)?.P ?? double.NaN),
            ["cells"] = LabJson.ToNode(g.Cells.Select(i => spec.Cells[i].Id(spec.Budget)).ToArray()),
        }).ToArray()),
        ["cells"] = new JsonArray(spec.Cells.Select((c, i) => (JsonNode)new JsonObject
        {
            ["id"] = c.Id(spec.Budget), ["cell"] = c.ToJson(), ["test_accuracy"] = LabJson.ToNode(results[i].TestAccuracy),
            ["train_accuracy"] = LabJson.ToNode(results[i].TrainAccuracy), ["test_curve"] = LabJson.ToNode(results[i].TestCurve),
        }).ToArray()),
    };
}
