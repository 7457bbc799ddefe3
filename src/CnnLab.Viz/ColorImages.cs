using ScottPlot;
using SkiaSharp;

namespace CnnLab.Viz;

/// <summary>
/// Colour pictures for RGB models: an input image in its own colours, and first-layer filters with three input channels
/// as colour patches (each filter's R, G, B slices drawn as one RGB tile, 0.5 + 0.5·w / max|w| of that filter, so grey is
/// zero and a red patch responds to red), as Krizhevsky et al. 2012 (Figure 3) show AlexNet's first layer.
/// </summary>
/// <remarks>PyTorch: none (in Python: <c>torchvision.utils.make_grid(weight, normalize=True)</c> and matplotlib).</remarks>
public static class ColorImages
{
    /// <summary>Draws a [3, <paramref name="height"/>, <paramref name="width"/>] image of values in [0, 1] (clipped).</summary>
    public static FigureFiles Image(string title, float[] rgb, int height, int width, string pathWithoutExtension)
    {
        Check(rgb, 3L * height * width, nameof(rgb));
        var tile = new float[rgb.Length];
        Array.Copy(rgb, tile, rgb.Length);
        return Render(title, [tile], height, width, pathWithoutExtension, labels: null);
    }

    /// <summary>
    /// Draws the first <paramref name="maxFilters"/> filters of a [out, 3, kh, kw] weight as colour patches, each scaled by
    /// its own largest magnitude.
    /// </summary>
    public static FigureFiles Filters(string title, float[] weights, int outChannels, int kernelHeight, int kernelWidth,
        string pathWithoutExtension, int maxFilters = 64)
    {
        int size = 3 * kernelHeight * kernelWidth;
        Check(weights, (long)outChannels * size, nameof(weights));
        int shown = Math.Min(outChannels, maxFilters);
        var tiles = new float[shown][];
        for (int o = 0; o < shown; o++)
        {
            var f = weights.AsSpan(o * size, size);
            float max = 0;
            foreach (float v in f) max = Math.Max(max, Math.Abs(v));
            tiles[o] = new float[size];
            for (int i = 0; i < size; i++) tiles[o][i] = max > 0 ? 0.5f + 0.5f * f[i] / max : 0.5f;
        }
        string subtitle = outChannels > shown ? $"\nshowing {shown} of {outChannels}" : "";
        return Render(title + subtitle, tiles, kernelHeight, kernelWidth, pathWithoutExtension,
            Enumerable.Range(0, shown).Select(o => $"f {o}").ToArray());
    }

    private static void Check(float[] data, long expected, string name)
    {
        if (data is null || data.LongLength != expected || expected == 0)
            throw new ArgumentException($"{name} has {data?.Length ?? 0} values, expected {expected} ([3, height, width] per image)", name);
        int bad = Array.FindIndex(data, v => !float.IsFinite(v));
        if (bad >= 0) throw new ArgumentException($"{name}[{bad}] is {data[bad]}; pictures must be finite", name);
    }

    // One mosaic bitmap (tiles blown up to about 48 pixels, white gaps), shown by ScottPlot so that title, font and the
    // PNG + SVG output are those of every other figure.
    private static FigureFiles Render(string title, float[][] tiles, int h, int w, string path, string[]? labels)
    {
        int scale = Math.Max(1, (int)Math.Ceiling(48.0 / Math.Max(h, w)));
        int th = h * scale, tw = w * scale, n = tiles.Length;
        int cols = (int)Math.Ceiling(Math.Sqrt(n)), rows = (n + cols - 1) / cols;
        int gap = n > 1 ? Math.Max(2, tw / 4) : 0, labelRoom = labels is null ? 0 : Math.Max(10, th / 3);
        int mosaicW = cols * tw + (cols - 1) * gap, mosaicH = rows * (th + labelRoom) + (rows - 1) * gap;
        using var bitmap = new SKBitmap(mosaicW, mosaicH, SKColorType.Rgba8888, SKAlphaType.Opaque);
        bitmap.Erase(SKColors.White);
        for (int t = 0; t < n; t++)
        {
            int top = t / cols * (th + labelRoom + gap) + labelRoom, left = t % cols * (tw + gap);
            for (int y = 0; y < th; y++)
                for (int x = 0; x < tw; x++)
                {
                    int k = y / scale * w + x / scale;
                    var colour = new SKColor(Byte(tiles[t][k]), Byte(tiles[t][h * w + k]), Byte(tiles[t][2 * h * w + k]));
                    bitmap.SetPixel(left + x, top + y, colour);
                }
        }
        using var encoded = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        var plot = Figure.Create(title);
        var image = plot.Add.ImageRect(new ScottPlot.Image(encoded.ToArray()), new CoordinateRect(0, mosaicW, 0, mosaicH));
        image.AntiAlias = false;   // pixels stay squares
        for (int t = 0; labels is not null && t < n; t++)
        {
            double left = t % cols * (tw + gap), top = mosaicH - t / cols * (th + labelRoom + gap);
            var label = plot.Add.Text(labels[t], left + tw / 2.0, top);
            label.Alignment = Alignment.UpperCenter;
            label.LabelFontSize = 10;
        }
        Figure.HideAxes(plot);
        plot.Axes.SetLimits(0, mosaicW, 0, mosaicH);
        plot.Axes.SquareUnits();
        int width = 700, height = (int)Math.Clamp(560.0 * mosaicH / mosaicW + 70, 200, 4000);
        return Figure.Save(plot, path, width, height);
    }

    private static byte Byte(float v) => (byte)Math.Clamp(MathF.Round(v * 255), 0, 255);
}
