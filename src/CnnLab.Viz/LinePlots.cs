using ScottPlot;

namespace CnnLab.Viz;

/// <summary>Line plots: training and test curves, loss against step, per-layer statistics against depth.</summary>
/// <remarks>PyTorch: none (matplotlib's <c>plt.plot</c> in Python).</remarks>
public static class LinePlots
{
    /// <summary>
    /// Draws one line per series (with a legend when any series has a label) and writes
    /// <c>pathWithoutExtension.png</c> and <c>.svg</c>.
    /// </summary>
    /// <param name="title">Figure title.</param>
    /// <param name="xLabel">X axis label, e.g. "epoch".</param>
    /// <param name="yLabel">Y axis label, e.g. "loss".</param>
    /// <param name="series">(label, X, Y) per line; X and Y of equal length. Non-finite points are
    /// skipped (a diverged run stops where it became NaN); a series with no finite point is an error.</param>
    /// <param name="pathWithoutExtension">Output path; ".png" and ".svg" are appended.</param>
    /// <param name="logY">Logarithmic Y axis (decades labelled 10^k); points with Y ≤ 0 are skipped.</param>
    /// <param name="markers">Draw a marker at each point (for short series such as per-layer values).</param>
    /// <param name="width">Image width in pixels.</param>
    /// <param name="height">Image height in pixels.</param>
    /// <exception cref="ArgumentException">No series, mismatched lengths, empty or all-NaN series.</exception>
    public static FigureFiles Curves(
        string title, string xLabel, string yLabel,
        IReadOnlyList<(string Label, double[] X, double[] Y)> series,
        string pathWithoutExtension, bool logY = false, bool markers = false,
        int width = Figure.DefaultWidth, int height = Figure.DefaultHeight)
    {
        var clean = Check.Series(series, nameof(series), positiveY: logY);
        Figure.CheckPath(pathWithoutExtension);
        Figure.CheckSize(width, height);
        var plot = Figure.Create(title, xLabel, logY ? $"{yLabel} (log scale)" : yLabel);
        for (int i = 0; i < clean.Count; i++)
        {
            var (label, x, y) = clean[i];
            double[] ys = logY ? Array.ConvertAll(y, Math.Log10) : y;
            var line = plot.Add.ScatterLine(x, ys, Figure.SeriesColor(i));
            line.LineWidth = 2;
            line.MarkerSize = markers || x.Length == 1 ? 6 : 0;
            if (!string.IsNullOrEmpty(label)) line.LegendText = label;
        }
        if (logY) UseLogTicks(plot.Axes.Left);
        if (clean.Any(s => !string.IsNullOrEmpty(s.Label))) plot.ShowLegend(Alignment.UpperRight);
        return Figure.Save(plot, pathWithoutExtension, width, height);
    }

    /// <summary>Y values are log10 of the data: label major ticks 10^k and add log-spaced minor ticks.</summary>
    internal static void UseLogTicks(IAxis axis)
    {
        axis.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            IntegerTicksOnly = true,
            LabelFormatter = v => Figure.Format(Math.Pow(10, v)),
        };
    }
}
