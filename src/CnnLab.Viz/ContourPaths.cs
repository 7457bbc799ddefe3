using ScottPlot;

namespace CnnLab.Viz;

/// <summary>
/// Optimizer paths drawn over the contour lines of a 2-D test surface (a saddle, Rosenbrock's valley,
/// an ill-conditioned bowl): where plain SGD zig-zags across a narrow valley, momentum overshoots, and
/// Adam's per-parameter steps go straight — the notes' "sensitive to curvature, stuck near saddle points".
/// </summary>
/// <remarks>PyTorch: none (matplotlib's <c>contour</c> + <c>plot</c> in Python).</remarks>
public static class ContourPaths
{
    /// <summary>
    /// Samples <paramref name="f"/> on a <paramref name="resolution"/>² grid over the ranges, draws
    /// <paramref name="levels"/> contour lines (log-spaced in f - min f when <paramref name="logLevels"/>,
    /// which suits Rosenbrock), then each path as a line with a circle at its start and a square at its
    /// end, and writes <c>pathWithoutExtension.png</c> and <c>.svg</c>. Path points outside the ranges
    /// are clipped by the axes; non-finite points (a diverged run) end the line there.
    /// </summary>
    /// <exception cref="ArgumentException">Empty or inverted ranges, a surface that is not finite
    /// anywhere on the grid, or a bad path (see <see cref="LinePlots.Curves"/>).</exception>
    public static FigureFiles Plot(
        string title, Func<double, double, double> f, (double Min, double Max) xRange, (double Min, double Max) yRange,
        IReadOnlyList<(string Label, double[] X, double[] Y)> paths, string pathWithoutExtension,
        int levels = 15, bool logLevels = false, int resolution = 120,
        int width = Figure.DefaultWidth, int height = Figure.DefaultHeight)
    {
        ArgumentNullException.ThrowIfNull(f);
        CheckRange(xRange, nameof(xRange));
        CheckRange(yRange, nameof(yRange));
        if (levels < 2 || levels > 100) throw new ArgumentException($"levels must be in [2, 100]; got {levels}.", nameof(levels));
        if (resolution < 10 || resolution > 1000)
            throw new ArgumentException($"resolution must be in [10, 1000]; got {resolution}.", nameof(resolution));
        var clean = CleanPaths(paths);
        Figure.CheckPath(pathWithoutExtension);
        Figure.CheckSize(width, height);

        var z = new double[resolution, resolution];
        double zMin = double.PositiveInfinity, zMax = double.NegativeInfinity;
        for (int i = 0; i < resolution; i++)
            for (int j = 0; j < resolution; j++)
            {
                double x = xRange.Min + (xRange.Max - xRange.Min) * j / (resolution - 1);
                double y = yRange.Min + (yRange.Max - yRange.Min) * i / (resolution - 1);
                double v = f(x, y);
                z[i, j] = v;
                if (double.IsFinite(v)) { zMin = Math.Min(zMin, v); zMax = Math.Max(zMax, v); }
            }
        if (zMin > zMax) throw new ArgumentException("f is not finite anywhere on the sampled grid.", nameof(f));
        if (zMin == zMax) throw new ArgumentException($"f is constant ({zMin}) on the sampled grid: it has no contour lines.", nameof(f));
        // Contours of log10(f - min + δ) are log-spaced contours of f: dense near the valley floor.
        double delta = (zMax - zMin) * 1e-4;
        var grid = new Coordinates3d[resolution, resolution];
        for (int i = 0; i < resolution; i++)
            for (int j = 0; j < resolution; j++)
            {
                double v = double.IsFinite(z[i, j]) ? z[i, j] : zMax;
                double x = xRange.Min + (xRange.Max - xRange.Min) * j / (resolution - 1);
                double y = yRange.Min + (yRange.Max - yRange.Min) * i / (resolution - 1);
                grid[i, j] = new Coordinates3d(x, y, logLevels ? Math.Log10(v - zMin + delta) : v);
            }

        var plot = Figure.Create(title, "x", "y");
        var contours = plot.Add.ContourLines(grid, levels);
        contours.Colormap = new ScottPlot.Colormaps.Grayscale();   // grey lines: the paths carry the colour
        contours.LineWidth = 1;
        contours.LabelStyle.IsVisible = false;
        for (int p = 0; p < clean.Count; p++)
        {
            var (label, xs, ys) = clean[p];
            var color = Figure.SeriesColor(p);
            var line = plot.Add.ScatterLine(xs, ys, color);
            line.LineWidth = 2;
            line.MarkerSize = xs.Length <= 60 ? 4 : 0;
            line.LegendText = label;
            plot.Add.Marker(xs[0], ys[0], MarkerShape.OpenCircle, 12, color);
            plot.Add.Marker(xs[^1], ys[^1], MarkerShape.FilledSquare, 9, color);
        }
        plot.Axes.SetLimits(xRange.Min, xRange.Max, yRange.Min, yRange.Max);
        plot.ShowLegend(Edge.Right);
        return Figure.Save(plot, pathWithoutExtension, width, height);
    }

    static void CheckRange((double Min, double Max) r, string name)
    {
        if (!double.IsFinite(r.Min) || !double.IsFinite(r.Max) || r.Min >= r.Max)
            throw new ArgumentException($"{name} must be finite with Min < Max; got ({r.Min}, {r.Max}).", name);
    }

    /// <summary>Each path up to its first non-finite point (where the run diverged).</summary>
    static List<(string Label, double[] X, double[] Y)> CleanPaths(IReadOnlyList<(string Label, double[] X, double[] Y)> paths)
    {
        if (paths is null || paths.Count == 0)
            throw new ArgumentException("paths must contain at least one optimizer path; got none.", nameof(paths));
        var result = new List<(string, double[], double[])>();
        for (int p = 0; p < paths.Count; p++)
        {
            var (label, x, y) = paths[p];
            string what = $"paths[{p}] '{label}'";
            if (x is null || y is null) throw new ArgumentException($"{what}: X and Y must not be null.", nameof(paths));
            if (x.Length != y.Length)
                throw new ArgumentException($"{what}: X has {x.Length} values but Y has {y.Length}; they must have the same length.", nameof(paths));
            int n = 0;
            while (n < x.Length && double.IsFinite(x[n]) && double.IsFinite(y[n])) n++;
            if (n == 0) throw new ArgumentException($"{what} has no finite starting point.", nameof(paths));
            result.Add((label ?? "", x[..n], y[..n]));
        }
        return result;
    }
}
