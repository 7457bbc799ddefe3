using CnnLab.Serialization;
using ScottPlot;
using CnnLab.IO;

namespace CnnLab.Viz;

/// <summary>What every figure shares: the font, the style, the size checks and writing PNG + SVG.</summary>
internal static class Figure
{
    public const int DefaultWidth = 800;
    public const int DefaultHeight = 500;

    /// <summary>A white plot with the embedded font, a title and axis labels.</summary>
    public static Plot Create(string title, string? xLabel = null, string? yLabel = null)
    {
        Check.Text(title, nameof(title));
        EmbeddedFont.Ensure();
        var plot = new Plot();
        plot.Title(title, 18);
        if (!string.IsNullOrEmpty(xLabel)) plot.XLabel(xLabel, 14);
        if (!string.IsNullOrEmpty(yLabel)) plot.YLabel(yLabel, 14);
        return plot;
    }

    /// <summary>
    /// Renders the plot to <c>path.png</c> and <c>path.svg</c> (parent folder created if needed, each
    /// file replaced atomically). Fonts are applied last so that every plottable added before uses them.
    /// </summary>
    public static FigureFiles Save(Plot plot, string pathWithoutExtension, int width, int height)
    {
        CheckPath(pathWithoutExtension);
        CheckSize(width, height);
        plot.Font.Set(EmbeddedFont.Name);
        plot.Legend.SetBestFontOnEachRender = false;
        plot.Legend.FontName = EmbeddedFont.Name;
        foreach (var text in plot.GetPlottables<ScottPlot.Plottables.Text>()) text.LabelStyle.FontName = EmbeddedFont.Name;

        string full = Path.GetFullPath(pathWithoutExtension);
        string? dir = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        string png = full + ".png", svg = full + ".svg";
        byte[] pngBytes = plot.GetImageBytes(width, height, ImageFormat.Png);
        AtomicFile.Write(png, s => s.Write(pngBytes));
        AtomicFile.WriteAllText(svg, plot.GetSvgXml(width, height));
        return new FigureFiles(png, svg);
    }

    public static void CheckPath(string pathWithoutExtension)
    {
        if (string.IsNullOrWhiteSpace(pathWithoutExtension))
            throw new ArgumentException("pathWithoutExtension must name a file (\".png\" and \".svg\" are appended); got an empty path.",
                nameof(pathWithoutExtension));
    }

    public static void CheckSize(int width, int height)
    {
        if (width < 100 || height < 100 || width > 10000 || height > 10000)
            throw new ArgumentException($"Figure size must be between 100 and 10000 pixels per side; got {width}x{height}.", nameof(width));
    }

    /// <summary>Hides ticks, tick labels, frame and grid (for image grids) but keeps the title and the margins.</summary>
    public static void HideAxes(Plot plot)
    {
        foreach (var axis in new IAxis[] { plot.Axes.Left, plot.Axes.Right, plot.Axes.Bottom, plot.Axes.Top })
        {
            axis.TickGenerator = new ScottPlot.TickGenerators.EmptyTickGenerator();
            axis.TickLabelStyle.IsVisible = false;
            axis.MajorTickStyle.Length = 0;
            axis.MinorTickStyle.Length = 0;
            axis.FrameLineStyle.Width = 0;
        }
        plot.HideGrid();
    }

    /// <summary>About one labelled tick per 50 pixels on a colour bar, without minor-tick clutter.</summary>
    public static void SparseTicks(ScottPlot.Panels.ColorBar bar)
    {
        bar.Axis.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            MinimumTickSpacing = 50,
            LabelFormatter = Format,
        };
    }

    /// <summary>A readable, colour-blind-friendly palette (Tableau 10), cycled.</summary>
    public static Color SeriesColor(int i) => Palette.GetColor(i);

    static readonly IPalette Palette = new ScottPlot.Palettes.Category10();

    /// <summary>Formats a tick or annotation value compactly: 3 significant digits, scientific when tiny or huge.</summary>
    public static string Format(double v)
    {
        if (double.IsNaN(v)) return "NaN";
        double a = Math.Abs(v);
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        if (a != 0 && (a < 1e-3 || a >= 1e4)) return v.ToString("0.##e+00", inv);
        return a >= 100 ? Math.Round(v).ToString(inv) : v.ToString("G3", inv);
    }
}
