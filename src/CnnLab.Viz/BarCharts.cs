using ScottPlot;

namespace CnnLab.Viz;

/// <summary>Grouped bar charts: one cluster per group, one coloured bar per series (e.g. accuracy per pooling kind).</summary>
/// <remarks>PyTorch: none (matplotlib's <c>plt.bar</c> with offsets in Python).</remarks>
public static class BarCharts
{
    /// <summary>
    /// Draws <paramref name="groups"/>.Length clusters of bars; series <c>s</c> gives the height of its bar
    /// in every group. Values are printed on the bars when <paramref name="showValues"/>.
    /// </summary>
    /// <exception cref="ArgumentException">No groups or series, a series whose length differs from the
    /// number of groups, or a series with no finite value.</exception>
    public static FigureFiles Grouped(
        string title, string[] groups, IReadOnlyList<(string Series, double[] Values)> series,
        string yLabel, string pathWithoutExtension, bool showValues = true,
        int width = Figure.DefaultWidth, int height = Figure.DefaultHeight)
    {
        if (groups is null || groups.Length == 0)
            throw new ArgumentException("groups must name at least one group; got none.", nameof(groups));
        if (series is null || series.Count == 0)
            throw new ArgumentException("series must contain at least one series; got none.", nameof(series));
        for (int s = 0; s < series.Count; s++)
        {
            var (name, values) = series[s];
            if (values is null || values.Length != groups.Length)
                throw new ArgumentException(
                    $"series[{s}] '{name}' has {values?.Length ?? 0} values but there are {groups.Length} groups; they must match.", nameof(series));
            if (!values.Any(double.IsFinite))
                throw new ArgumentException($"series[{s}] '{name}' has no finite value: all {values.Length} are NaN or infinity.", nameof(series));
        }
        Figure.CheckPath(pathWithoutExtension);
        Figure.CheckSize(width, height);

        var plot = Figure.Create(title, null, yLabel);
        int n = series.Count;
        double barWidth = 0.8 / n;
        var ticks = new List<Tick>();
        for (int s = 0; s < n; s++)
        {
            var (name, values) = series[s];
            var bars = new List<Bar>();
            for (int g = 0; g < groups.Length; g++)
            {
                if (!double.IsFinite(values[g])) continue;   // a missing measurement leaves a gap
                bars.Add(new Bar
                {
                    Position = g + (s - (n - 1) / 2.0) * barWidth,
                    Value = values[g],
                    Size = barWidth * 0.92,
                    FillColor = Figure.SeriesColor(s),
                    LineWidth = 0,
                    Label = showValues ? Figure.Format(values[g]) : "",
                    CenterLabel = false,
                });
            }
            var plottable = plot.Add.Bars(bars);
            plottable.LegendText = name ?? "";
            plottable.Color = Figure.SeriesColor(s);
            plottable.ValueLabelStyle.FontSize = n * groups.Length > 24 ? 9 : 11;
        }
        for (int g = 0; g < groups.Length; g++) ticks.Add(new Tick(g, groups[g] ?? ""));
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.ToArray());
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.Axes.Bottom.TickLabelStyle.FontSize = 13;
        plot.Grid.XAxisStyle.IsVisible = false;
        plot.Axes.Margins(bottom: 0, top: 0.15);
        if (series.Any(s => !string.IsNullOrEmpty(s.Series))) plot.ShowLegend(Alignment.UpperRight);
        return Figure.Save(plot, pathWithoutExtension, width, height);
    }
}
