using ScottPlot;

namespace CnnLab.Viz;

/// <summary>
/// Pictures of what a CNN computes: the channels of one layer's output as a grid of images on one shared
/// colour scale (Zeiler &amp; Fergus 2014, "Visualizing and Understanding Convolutional Networks",
/// arXiv:1311.2901), the first layer's filters, and the input image.
/// </summary>
/// <remarks>PyTorch: none (in Python: a forward hook plus matplotlib's <c>imshow</c> grid).</remarks>
public static class FeatureMaps
{
    /// <summary>
    /// Draws the first <paramref name="maxMaps"/> of <paramref name="channels"/> maps of one image, each
    /// [<paramref name="height"/>, <paramref name="width"/>], from <paramref name="data"/> laid out as
    /// [channels, height, width] (one sample of an NCHW tensor). All maps share one colour scale (so
    /// brightness compares across channels), shown by a labelled colour bar. Maps that are all zero are
    /// reported in <see cref="FeatureMapFigure.DeadMaps"/> and framed in red with the word "dead".
    /// </summary>
    /// <param name="title">Figure title, e.g. "conv1 → ReLU (image 3, 'Sneaker')".</param>
    /// <param name="data">channels·height·width values, row-major.</param>
    /// <param name="channels">Number of maps.</param>
    /// <param name="height">Rows of each map.</param>
    /// <param name="width">Columns of each map.</param>
    /// <param name="pathWithoutExtension">Output path; ".png" and ".svg" are appended.</param>
    /// <param name="maxMaps">At most this many maps are drawn (the first ones); dead maps are found among all.</param>
    /// <param name="colorbarLabel">Label of the colour bar.</param>
    /// <param name="figureWidth">Image width in pixels; the height follows from the grid's shape.</param>
    /// <param name="labels">One caption per map (default "ch 0", "ch 1", ...).</param>
    /// <exception cref="ArgumentException">Non-positive sizes, a data length that is not
    /// channels·height·width, a NaN/infinite value, or a label count other than channels.</exception>
    public static FeatureMapFigure Grid(
        string title, float[] data, int channels, int height, int width, string pathWithoutExtension,
        int maxMaps = 64, string colorbarLabel = "activation", int figureWidth = Figure.DefaultWidth, IReadOnlyList<string>? labels = null)
    {
        CheckShape(data, nameof(data), [channels, height, width], "[channels, height, width]");
        if (labels is not null && labels.Count != channels)
            throw new ArgumentException($"labels has {labels.Count} entries but there are {channels} maps; give one label per map.", nameof(labels));
        var tiles = Enumerable.Range(0, channels).Select(c => new Tile(labels?[c] ?? $"ch {c}", data, c * height * width)).ToArray();
        return Render(title, tiles, height, width, pathWithoutExtension, maxMaps, colorbarLabel, figureWidth,
            new ScottPlot.Colormaps.Viridis(), symmetric: false, columns: null);
    }

    /// <summary>As <see cref="Grid(string, float[], int, int, int, string, int, string, int, IReadOnlyList{string})"/>, from one
    /// [height, width] array per channel (all the same size).</summary>
    public static FeatureMapFigure Grid(
        string title, float[][,] maps, string pathWithoutExtension,
        int maxMaps = 64, string colorbarLabel = "activation", int figureWidth = Figure.DefaultWidth, IReadOnlyList<string>? labels = null)
    {
        if (maps is null || maps.Length == 0)
            throw new ArgumentException("maps must contain at least one [height, width] map; got none.", nameof(maps));
        int h = maps[0]?.GetLength(0) ?? 0, w = maps[0]?.GetLength(1) ?? 0;
        var data = new float[maps.Length * h * w];
        for (int c = 0; c < maps.Length; c++)
        {
            var m = maps[c];
            if (m is null || m.GetLength(0) != h || m.GetLength(1) != w)
                throw new ArgumentException($"maps[{c}] is {(m is null ? "null" : $"{m.GetLength(0)}x{m.GetLength(1)}")} but maps[0] is {h}x{w}; "
                    + "all maps must have the same size.", nameof(maps));
            int k = c * h * w;
            foreach (float v in m) data[k++] = v;   // a [,] array enumerates row-major
        }
        return Grid(title, data, maps.Length, h, w, pathWithoutExtension, maxMaps, colorbarLabel, figureWidth, labels);
    }

    /// <summary>
    /// Draws convolution filters, <paramref name="weights"/> laid out as [out, in, kh, kw] (PyTorch's
    /// Conv2d weight), one tile per (out, in) slice, on a diverging colour scale symmetric about zero
    /// (blue negative, red positive), so that excitatory and inhibitory parts of a kernel read at once.
    /// With one input channel the tiles are the filters; otherwise each row is one filter's input slices.
    /// All-zero slices are reported as dead (e.g. a zero-initialized layer).
    /// </summary>
    /// <exception cref="ArgumentException">Non-positive sizes, a length that is not out·in·kh·kw, or NaN.</exception>
    public static FeatureMapFigure Filters(
        string title, float[] weights, int outChannels, int inChannels, int kernelHeight, int kernelWidth,
        string pathWithoutExtension, int maxMaps = 64, string colorbarLabel = "weight", int figureWidth = Figure.DefaultWidth)
    {
        CheckShape(weights, nameof(weights), [outChannels, inChannels, kernelHeight, kernelWidth], "[out, in, kh, kw]");
        int k = kernelHeight * kernelWidth;
        var tiles = new List<Tile>(outChannels * inChannels);
        for (int o = 0; o < outChannels; o++)
            for (int i = 0; i < inChannels; i++)
                tiles.Add(new Tile(inChannels == 1 ? $"f {o}" : $"f{o} in{i}", weights, (o * inChannels + i) * k));
        int? columns = inChannels is > 1 and <= 16 ? inChannels : null;
        return Render(title, tiles.ToArray(), kernelHeight, kernelWidth, pathWithoutExtension, maxMaps, colorbarLabel,
            figureWidth, new ScottPlot.Colormaps.Balance(), symmetric: true, columns);
    }

    /// <summary>
    /// Draws one grey-scale image [height, width] (e.g. the network's input) with a colour bar of its
    /// pixel values, and writes <c>pathWithoutExtension.png</c> and <c>.svg</c>.
    /// </summary>
    /// <exception cref="ArgumentException">An empty image or a NaN/infinite pixel.</exception>
    public static FigureFiles Image(
        string title, float[,] pixels, string pathWithoutExtension, string colorbarLabel = "pixel value",
        int figureWidth = 600)
    {
        if (pixels is null || pixels.Length == 0) throw new ArgumentException("pixels must be a non-empty [height, width] image.", nameof(pixels));
        int h = pixels.GetLength(0), w = pixels.GetLength(1);
        var data = new float[h * w];
        int k = 0;
        foreach (float v in pixels) data[k++] = v;
        CheckFinite(data, nameof(pixels));
        var f = Render(title, [new Tile("", data, 0)], h, w, pathWithoutExtension, 1, colorbarLabel, figureWidth,
            new ScottPlot.Colormaps.Grayscale(), symmetric: false, columns: 1, markDead: false);
        return new FigureFiles(f.Png, f.Svg);
    }

    readonly record struct Tile(string Label, float[] Data, int Offset);

    static void CheckShape(float[] data, string name, int[] dims, string layout)
    {
        if (dims.Any(d => d <= 0))
            throw new ArgumentException($"{layout} sizes must be positive; got [{string.Join(", ", dims)}].", name);
        long expected = dims.Aggregate(1L, (a, d) => a * d);
        if (data is null || data.LongLength != expected)
            throw new ArgumentException($"{name} has {data?.Length ?? 0} values but {layout} = [{string.Join(", ", dims)}] needs {expected}.", name);
        CheckFinite(data, name);
    }

    /// <summary>True when every value is 0 (or -0): the map of a ReLU channel that never fires.</summary>
    static bool AllZero(ReadOnlySpan<float> values)
    {
        foreach (float v in values) if (v != 0) return false;
        return true;
    }

    static void CheckFinite(float[] data, string name)
    {
        int bad = Array.FindIndex(data, v => !float.IsFinite(v));
        if (bad >= 0) throw new ArgumentException($"{name}[{bad}] is {data[bad]}; feature maps and filters must be finite.", name);
    }

    /// <summary>
    /// Lays the tiles out as one mosaic (NaN gaps drawn white), drawn by a single heatmap so that the colour
    /// scale is shared by construction; labels, dead-map frames and the colour bar go on top.
    /// </summary>
    static FeatureMapFigure Render(
        string title, Tile[] tiles, int h, int w, string pathWithoutExtension, int maxMaps, string colorbarLabel,
        int figureWidth, IColormap colormap, bool symmetric, int? columns, bool markDead = true)
    {
        if (maxMaps < 1) throw new ArgumentException($"maxMaps must be at least 1; got {maxMaps}.", nameof(maxMaps));
        Figure.CheckPath(pathWithoutExtension);
        Figure.CheckSize(figureWidth, 300);
        int n = tiles.Length, size = h * w;

        var dead = new List<int>();
        for (int t = 0; t < n; t++)
            if (AllZero(tiles[t].Data.AsSpan(tiles[t].Offset, size))) dead.Add(t);
        int shown = Math.Min(n, maxMaps);
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        for (int t = 0; t < shown; t++)
            foreach (float v in tiles[t].Data.AsSpan(tiles[t].Offset, size)) { min = Math.Min(min, v); max = Math.Max(max, v); }
        if (symmetric) { double a = Math.Max(Math.Abs(min), Math.Abs(max)); (min, max) = (-a, a); }
        if (min == max) { min -= 0.5; max += 0.5; }   // all maps constant (e.g. all dead): still a valid scale

        // Small kernels (3x3) are blown up to about 12 cells a side so that the label gaps, whole cells of
        // the mosaic, stay thin next to the tiles.
        int scale = Math.Max(1, (int)Math.Ceiling(12.0 / Math.Min(h, w)));
        int th = h * scale, tw = w * scale;
        int cols = columns ?? (int)Math.Ceiling(Math.Sqrt(shown));
        int rows = (shown + cols - 1) / cols;
        bool labelled = shown > 1;
        int gapX = shown > 1 ? Math.Max(1, tw / 6) : 0;
        int gapY = labelled ? Math.Max(2, (int)Math.Ceiling(th * 0.3)) : 0;   // room for the label above each tile
        int mosaicW = cols * tw + (cols - 1) * gapX;
        int mosaicH = rows * (th + gapY);
        // ScottPlot's bitmap heatmap does not draw a one-column image; a NaN column keeps the picture.
        int drawW = Math.Max(2, mosaicW);
        var mosaic = new double[mosaicH, drawW];
        for (int i = 0; i < mosaicH; i++) for (int j = 0; j < drawW; j++) mosaic[i, j] = double.NaN;
        for (int t = 0; t < shown; t++)
        {
            int r = t / cols, c = t % cols, top = r * (th + gapY) + gapY, left = c * (tw + gapX);
            for (int i = 0; i < th; i++)
                for (int j = 0; j < tw; j++)
                    mosaic[top + i, left + j] = tiles[t].Data[tiles[t].Offset + i / scale * w + j / scale];
        }

        string subtitle = n > shown ? $"showing {shown} of {n}" : "";
        if (markDead && dead.Count > 0) subtitle += (subtitle.Length > 0 ? "; " : "") + $"{dead.Count} of {n} all zero (dead)";
        var plot = Figure.Create(subtitle.Length > 0 ? $"{title}\n{subtitle}" : title);
        var heatmap = plot.Add.Heatmap(mosaic);
        heatmap.Colormap = colormap;
        heatmap.ManualRange = new ScottPlot.Range(min, max);
        heatmap.NaNCellColor = Colors.White;
        heatmap.Rectangle = new CoordinateRect(0, drawW, 0, mosaicH);
        var bar = plot.Add.ColorBar(heatmap);
        bar.Label = colorbarLabel ?? "";
        bar.LabelStyle.FontSize = 14;
        Figure.SparseTicks(bar);

        // Font size from the tile's size on screen: about (figure width - colour bar) / columns pixels.
        double tilePixels = (figureWidth - 140.0) / cols * tw / (tw + gapX);
        float labelSize = (float)Math.Clamp(tilePixels / 5, 7, 13);
        var deadSet = new HashSet<int>(dead);
        for (int t = 0; t < shown; t++)
        {
            int r = t / cols, c = t % cols;
            double left = c * (tw + gapX), top = mosaicH - r * (th + gapY) - gapY;
            bool isDead = markDead && deadSet.Contains(t);
            if (labelled || isDead)
            {
                var label = plot.Add.Text(isDead ? $"{tiles[t].Label} dead" : tiles[t].Label, left + tw / 2.0, top);
                label.Alignment = Alignment.LowerCenter;
                label.LabelFontSize = labelSize;
                label.LabelFontColor = isDead ? Colors.Red : Colors.Black;
                label.LabelBold = isDead;
            }
            if (isDead)
            {
                var frame = plot.Add.Rectangle(left, left + tw, top - th, top);
                frame.FillColor = Colors.Transparent;
                frame.LineColor = Colors.Red;
                frame.LineWidth = 2.5f;
            }
        }

        Figure.HideAxes(plot);
        plot.Axes.SetLimits(0, drawW, 0, mosaicH);
        plot.Axes.SquareUnits();
        double dataWidth = figureWidth - 140.0;   // colour bar and margins
        int titleLines = subtitle.Length > 0 ? 2 : 1;
        int figureHeight = (int)Math.Clamp(dataWidth * mosaicH / drawW + 40 + 28 * titleLines, 300, 4000);
        var files = Figure.Save(plot, pathWithoutExtension, figureWidth, figureHeight);
        return new FeatureMapFigure(files.Png, files.Svg, n, shown, markDead ? dead.ToArray() : [], min, max);
    }
}
