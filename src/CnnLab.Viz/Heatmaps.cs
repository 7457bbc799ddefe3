using ScottPlot;

namespace CnnLab.Viz;

/// <summary>
/// Annotated heatmaps of a value grid: the learning-rate × weight-decay accuracy grid of Loshchilov &amp;
/// Hutter 2019 (arXiv:1711.05101, Fig. 2), confusion matrices.
/// </summary>
/// <remarks>PyTorch: none (matplotlib's <c>imshow</c> + <c>colorbar</c> in Python).</remarks>
public static class Heatmaps
{
    /// <summary>
    /// Draws <paramref name="values"/>[row, col] as coloured cells, row 0 at the top (as a matrix is
    /// printed), with a labelled colour bar, and writes <c>pathWithoutExtension.png</c> and <c>.svg</c>.
    /// NaN cells (e.g. a diverged run) are drawn grey and annotated "NaN".
    /// </summary>
    /// <param name="title">Figure title.</param>
    /// <param name="values">The grid, [rows, cols]; at least one finite value.</param>
    /// <param name="rowLabels">One label per row (shown on the Y axis, top to bottom).</param>
    /// <param name="colLabels">One label per column (shown on the X axis, left to right).</param>
    /// <param name="xLabel">X axis title (what the columns are, e.g. "weight decay").</param>
    /// <param name="yLabel">Y axis title (what the rows are, e.g. "learning rate").</param>
    /// <param name="pathWithoutExtension">Output path; ".png" and ".svg" are appended.</param>
    /// <param name="annotate">Print each cell's value in the cell (automatically off above 400 cells).</param>
    /// <param name="colorbarLabel">Label of the colour bar (e.g. "test accuracy"); null for none.</param>
    /// <param name="range">Fixed colour range (e.g. (0, 1) to compare several grids); null for the data's.</param>
    /// <param name="width">Image width in pixels.</param>
    /// <param name="height">Image height in pixels.</param>
    /// <exception cref="ArgumentException">Empty or all-NaN grid, or label counts that differ from its shape.</exception>
    public static FigureFiles Grid(
        string title, double[,] values, string[] rowLabels, string[] colLabels,
        string xLabel, string yLabel, string pathWithoutExtension,
        bool annotate = true, string? colorbarLabel = null, (double Min, double Max)? range = null,
        int width = Figure.DefaultWidth, int height = Figure.DefaultHeight)
    {
        if (values is null || values.Length == 0)
            throw new ArgumentException("values must be a non-empty [rows, cols] grid; got an empty one.", nameof(values));
        int rows = values.GetLength(0), cols = values.GetLength(1);
        Check.Labels(rowLabels, rows, nameof(rowLabels), $"values ({rows}x{cols}) dimension 0");
        Check.Labels(colLabels, cols, nameof(colLabels), $"values ({rows}x{cols}) dimension 1");
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        foreach (double v in values)
        {
            if (double.IsInfinity(v))
                throw new ArgumentException($"values contains {v}; heatmap cells must be finite or NaN (missing).", nameof(values));
            if (!double.IsNaN(v)) { min = Math.Min(min, v); max = Math.Max(max, v); }
        }
        if (min > max) throw new ArgumentException($"values ({rows}x{cols}) has no finite value: every cell is NaN.", nameof(values));
        if (range is { } r)
        {
            if (!double.IsFinite(r.Min) || !double.IsFinite(r.Max) || r.Min >= r.Max)
                throw new ArgumentException($"range must be finite with Min < Max; got ({r.Min}, {r.Max}).", nameof(range));
            (min, max) = r;
        }
        Figure.CheckPath(pathWithoutExtension);
        Figure.CheckSize(width, height);

        var plot = Figure.Create(title, xLabel, yLabel);
        var colormap = new ScottPlot.Colormaps.Viridis();
        if (min == max) { min -= 0.5; max += 0.5; }   // a constant grid still gets a valid colour axis
        // Cells are vector rectangles (sharp in SVG, and ScottPlot's bitmap heatmap skips one-column grids);
        // an invisible heatmap with the same colormap and range drives the colour bar.
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
            {
                double v = values[i, j];
                var cell = plot.Add.Rectangle(j, j + 1, rows - i - 1, rows - i);
                cell.FillColor = double.IsNaN(v) ? Colors.LightGray : colormap.GetColor(Math.Clamp((v - min) / (max - min), 0, 1));
                cell.LineWidth = 0;
            }
        var heatmap = plot.Add.Heatmap(values);
        heatmap.Colormap = colormap;
        heatmap.ManualRange = new ScottPlot.Range(min, max);
        heatmap.IsVisible = false;

        var bar = plot.Add.ColorBar(heatmap);
        if (!string.IsNullOrEmpty(colorbarLabel)) bar.Label = colorbarLabel;
        bar.LabelStyle.FontSize = 14;
        Figure.SparseTicks(bar);

        if (annotate && rows * cols <= 400)
        {
            float fontSize = rows * cols <= 64 ? 13 : rows * cols <= 150 ? 10 : 8;
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++)
                {
                    double v = values[i, j];
                    var text = plot.Add.Text(Figure.Format(v), j + 0.5, rows - i - 0.5);
                    text.Alignment = Alignment.MiddleCenter;
                    text.LabelFontSize = fontSize;
                    // Dark text on the light (yellow) end of viridis, white on the dark (purple) end.
                    double t = double.IsNaN(v) ? 1 : Math.Clamp((v - min) / (max - min), 0, 1);
                    text.LabelFontColor = t > 0.55 ? Colors.Black : Colors.White;
                }
        }

        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, cols).Select(j => (double)j + 0.5).ToArray(), colLabels.Select(l => l ?? "").ToArray());
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, rows).Select(i => rows - i - 0.5).ToArray(), rowLabels.Select(l => l ?? "").ToArray());
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.Axes.Left.MajorTickStyle.Length = 0;
        plot.HideGrid();
        plot.Axes.SetLimits(0, cols, 0, rows);
        return Figure.Save(plot, pathWithoutExtension, width, height);
    }
}
