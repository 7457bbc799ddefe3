using System.Xml.Linq;
using CnnLab.Viz;
using SkiaSharp;
using Xunit;

namespace CnnLab.Tests;

/// <summary>Checks shared by the figure tests: a real PNG of the asked size with content, a parseable SVG.</summary>
internal static class FigureAssert
{
    static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>
    /// A fresh folder for one test's figures (kept after the run so that they can be looked at), one per process so that
    /// two test runs at once do not delete each other's files.
    /// </summary>
    public static string OutDir(string test)
    {
        string dir = Path.Combine(Path.GetTempPath(), "cnnlab-viz-tests", $"{test}-{Environment.ProcessId}");
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Asserts both files are valid and returns the decoded PNG's distinct colour count.</summary>
    public static int Valid(FigureFiles files, int width, int height, params string[] texts)
    {
        Assert.EndsWith(".png", files.Png);
        Assert.EndsWith(".svg", files.Svg);
        byte[] png = File.ReadAllBytes(files.Png);
        Assert.True(png.Length > PngSignature.Length && png.AsSpan(0, 8).SequenceEqual(PngSignature), $"{files.Png} lacks the PNG signature");
        using var bitmap = SKBitmap.Decode(png);
        Assert.NotNull(bitmap);
        Assert.Equal(width, bitmap.Width);
        Assert.Equal(height, bitmap.Height);
        var colors = new HashSet<uint>();
        foreach (var c in bitmap.Pixels) colors.Add((uint)c);
        // A plot with text (anti-aliased), lines and fills has hundreds of shades; a blank or flat image has 1.
        Assert.True(colors.Count > 50, $"{files.Png} has only {colors.Count} distinct colours: it looks blank");
        // Some pixels must be dark (text, axes): a white image with a faint shape would pass the count alone.
        Assert.Contains(bitmap.Pixels, c => c.Red + c.Green + c.Blue < 150);

        var svg = XDocument.Load(files.Svg);
        Assert.Equal("svg", svg.Root!.Name.LocalName);
        string allText = string.Concat(svg.Descendants().Where(e => e.Name.LocalName == "text").Select(e => e.Value));
        foreach (var t in texts) Assert.Contains(t, allText);
        // Self-contained: every href is an embedded data: URI or a reference inside the document.
        foreach (var attr in svg.Descendants().Attributes().Where(a => a.Name.LocalName == "href"))
            Assert.True(attr.Value.StartsWith("data:") || attr.Value.StartsWith('#'), $"{files.Svg} links to {attr.Value}");
        return colors.Count;
    }

    /// <summary>The ARGB colour of one pixel of the PNG.</summary>
    public static SKColor Pixel(string png, int x, int y)
    {
        using var bitmap = SKBitmap.Decode(png);
        return bitmap.GetPixel(x, y);
    }
}
