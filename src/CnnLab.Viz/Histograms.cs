using ScottPlot;

namespace CnnLab.Viz;

/// <summary>
/// Per-layer histograms of activations or back-propagated gradients, in the style of Glorot &amp; Bengio
/// 2010 ("Understanding the difficulty of training deep feedforward neural networks", AISTATS, Figs. 6-7):
/// one normalized histogram per layer, drawn as overlaid outlines on shared bins, so that shrinking or
/// growing spread from layer to layer is visible at a glance.
/// </summary>
/// <remarks>PyTorch: none (matplotlib's <c>plt.hist(histtype="step")</c> in Python).</remarks>
public static class Histograms
{
    /// <summary>
    /// Bins every layer's finite values on the same <paramref name="bins"/> edges (spanning all layers'
    /// finite values, or <paramref name="range"/>) and draws each as a step outline, normalized to a
    /// density (area 1) so that layers of different sizes compare. The legend gives each layer's mean and
    /// standard deviation. Non-finite values are ignored; a layer with none is an error.
    /// </summary>
    /// <param name="title">Figure title.</param>
    /// <param name="layers">(layer name, values) in network order, e.g. the activations after each tanh.</param>
    /// <param name="pathWithoutExtension">Output path; ".png" and ".svg" are appended.</param>
    /// <param name="bins">Number of bins (2..1000).</param>
    /// <param name="xLabel">X axis label, e.g. "activation value" or "back-propagated gradient".</param>
    /// <param name="range">Fixed bin range; values outside it are left out. Null: all values.</param>
    /// <param name="logY">Logarithmic density axis (shows tails; empty bins are skipped).</param>
    /// <param name="width">Image width in pixels.</param>
    /// <param name="height">Image height in pixels.</param>
    /// <exception cref="ArgumentException">No layers, a layer with no finite value, or a bad bin count/range.</exception>
    public static FigureFiles PerLayer(
        string title, IReadOnlyList<(string Layer, float[] Values)> layers, string pathWithoutExtension,
        int bins = 50, string xLabel = "value", (double Min, double Max)? range = null, bool logY = false,
        int width = Figure.DefaultWidth, int height = Figure.DefaultHeight)
    {
        if (layers is null || layers.Count == 0)
            throw new ArgumentException("layers must contain at least one (layer, values) pair; got none.", nameof(layers));
        if (bins < 2 || bins > 1000) throw new ArgumentException($"bins must be in [2, 1000]; got {bins}.", nameof(bins));
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        var stats = new (double Mean, double Std, int Count)[layers.Count];
        for (int l = 0; l < layers.Count; l++)
        {
            var (name, values) = layers[l];
            if (values is null || values.Length == 0)
                throw new ArgumentException($"layers[{l}] '{name}' has no values.", nameof(layers));
            double sum = 0, sumSq = 0;
            int n = 0;
            foreach (float v in values)
            {
                if (!float.IsFinite(v)) continue;
                n++; sum += v; sumSq += (double)v * v;
                lo = Math.Min(lo, v); hi = Math.Max(hi, v);
            }
            if (n == 0)
                throw new ArgumentException($"layers[{l}] '{name}' has no finite value: all {values.Length} are NaN or infinity.", nameof(layers));
            double mean = sum / n;
            stats[l] = (mean, Math.Sqrt(Math.Max(0, sumSq / n - mean * mean)), n);
        }
        if (range is { } r)
        {
            if (!double.IsFinite(r.Min) || !double.IsFinite(r.Max) || r.Min >= r.Max)
                throw new ArgumentException($"range must be finite with Min < Max; got ({r.Min}, {r.Max}).", nameof(range));
            (lo, hi) = r;
        }
        if (lo == hi) { double pad = lo == 0 ? 1 : Math.Abs(lo) * 0.1; lo -= pad; hi += pad; }   // all values equal (e.g. zero init)
        Figure.CheckPath(pathWithoutExtension);
        Figure.CheckSize(width, height);

        var plot = Figure.Create(title, xLabel, logY ? "density (log scale)" : "density");
        double binWidth = (hi - lo) / bins;
        for (int l = 0; l < layers.Count; l++)
        {
            var counts = new double[bins];
            int inRange = 0;
            foreach (float v in layers[l].Values)
            {
                if (!float.IsFinite(v) || v < lo || v > hi) continue;
                int b = Math.Min(bins - 1, (int)((v - lo) / binWidth));
                counts[b]++; inRange++;
            }
            // A closed step outline: from the left edge at 0, across each bin's top, down to 0 at the right edge.
            var xs = new List<double> { lo };
            var ys = new List<double> { logY ? double.NaN : 0 };
            for (int b = 0; b < bins; b++)
            {
                double density = inRange == 0 ? 0 : counts[b] / (inRange * binWidth);
                double y = logY ? (density > 0 ? Math.Log10(density) : double.NaN) : density;
                xs.Add(lo + b * binWidth); ys.Add(y);
                xs.Add(lo + (b + 1) * binWidth); ys.Add(y);
            }
            xs.Add(hi); ys.Add(logY ? double.NaN : 0);
            var line = plot.Add.ScatterLine(xs.ToArray(), ys.ToArray(), Figure.SeriesColor(l));
            line.LineWidth = 2;
            line.MarkerSize = 0;
            var (mean, std, _) = stats[l];
            line.LegendText = $"{layers[l].Layer}  (mean {Figure.Format(mean)}, std {Figure.Format(std)})";
        }
        if (logY) LinePlots.UseLogTicks(plot.Axes.Left);
        else plot.Axes.Margins(bottom: 0);
        // Outside the data area: the tails (saturation at ±1, exploding gradients) are what matters.
        plot.ShowLegend(Edge.Bottom);
        return Figure.Save(plot, pathWithoutExtension, width, height);
    }
}
