using CnnLab.Tensors;
using CnnLab.Viz;
using Xunit;

namespace CnnLab.Tests;

public class FeatureMapsTests
{
    /// <summary>[channels, h, w] ReLU-like maps: oriented stripes, with the listed channels all zero.</summary>
    static float[] Maps(int channels, int h, int w, params int[] dead)
    {
        var data = new float[channels * h * w];
        for (int c = 0; c < channels; c++)
        {
            if (dead.Contains(c)) continue;
            double angle = c * Math.PI / channels;
            for (int i = 0; i < h; i++)
                for (int j = 0; j < w; j++)
                    data[(c * h + i) * w + j] = (float)Math.Max(0, (1 + c % 3) * Math.Sin(0.8 * (i * Math.Cos(angle) + j * Math.Sin(angle))));
        }
        return data;
    }

    [Fact]
    public void Grid_FlagsDeadMapsAndSharesOneColourScale()
    {
        string dir = FigureAssert.OutDir(nameof(Grid_FlagsDeadMapsAndSharesOneColourScale));
        var fig = FeatureMaps.Grid("conv1 → ReLU", Maps(16, 24, 24, 3, 10), 16, 24, 24, Path.Combine(dir, "maps"),
            colorbarLabel: "ReLU output");
        Assert.Equal([3, 10], fig.DeadMaps);
        Assert.Equal(16, fig.Count);
        Assert.Equal(16, fig.Shown);
        Assert.Equal(0, fig.Min);
        Assert.Equal(3, fig.Max, 2);   // channel 2's amplitude sets the shared top
        FigureAssert.Valid(fig, 800, FigureHeight(fig.Png), "conv1 → ReLU", "ReLU output", "ch 3 dead", "ch 10 dead", "ch 15",
            "2 of 16 all zero (dead)");
    }

    [Fact]
    public void Grid_CapsShownMapsButFindsDeadOnesAmongAll()
    {
        string dir = FigureAssert.OutDir(nameof(Grid_CapsShownMapsButFindsDeadOnesAmongAll));
        var fig = FeatureMaps.Grid("conv2", Maps(40, 8, 8, 1, 35), 40, 8, 8, Path.Combine(dir, "capped"), maxMaps: 12);
        Assert.Equal(12, fig.Shown);
        Assert.Equal([1, 35], fig.DeadMaps);
        FigureAssert.Valid(fig, 800, FigureHeight(fig.Png), "showing 12 of 40", "ch 1 dead", "ch 11");
    }

    [Fact]
    public void Grid_FromTwoDimensionalMapsMatchesFlatLayout()
    {
        string dir = FigureAssert.OutDir(nameof(Grid_FromTwoDimensionalMapsMatchesFlatLayout));
        var maps = new float[3][,];
        for (int c = 0; c < 3; c++)
        {
            maps[c] = new float[5, 7];
            for (int i = 0; i < 5; i++) for (int j = 0; j < 7; j++) maps[c][i, j] = c == 1 ? 0 : i * 7 + j;
        }
        var fig = FeatureMaps.Grid("pool1", maps, Path.Combine(dir, "twod"));
        Assert.Equal([1], fig.DeadMaps);
        Assert.Equal(34, fig.Max);
        FigureAssert.Valid(fig, 800, FigureHeight(fig.Png), "pool1");
        var bad = Assert.Throws<ArgumentException>(() => FeatureMaps.Grid("t", [new float[2, 2], new float[3, 2]], Path.Combine(dir, "x")));
        Assert.Contains("maps[1] is 3x2 but maps[0] is 2x2", bad.Message);
    }

    [Fact]
    public void Filters_UseSymmetricScaleAndFlagZeroFilters()
    {
        string dir = FigureAssert.OutDir(nameof(Filters_UseSymmetricScaleAndFlagZeroFilters));
        var w = new float[6 * 1 * 5 * 5];
        new Generator(3).FillNormal(w, 0, 0.2f);
        Array.Clear(w, 4 * 25, 25);   // filter 4 is all zero
        w[0] = -0.9f;
        var fig = FeatureMaps.Filters("conv1 filters", w, 6, 1, 5, 5, Path.Combine(dir, "filters"));
        Assert.Equal([4], fig.DeadMaps);
        Assert.Equal(-fig.Max, fig.Min);
        Assert.Equal(0.9, fig.Max, 6);   // the largest |weight|, whatever its sign
        FigureAssert.Valid(fig, 800, FigureHeight(fig.Png), "conv1 filters", "weight", "f 4 dead");

        var rgb = new float[4 * 3 * 3 * 3];
        new Generator(4).FillNormal(rgb, 0, 1);
        var fig3 = FeatureMaps.Filters("RGB filters", rgb, 4, 3, 3, 3, Path.Combine(dir, "rgb"));
        Assert.Equal(12, fig3.Shown);
        FigureAssert.Valid(fig3, 800, FigureHeight(fig3.Png), "f3 in2");
    }

    [Fact]
    public void Image_WritesGreyscaleWithColourbar()
    {
        string dir = FigureAssert.OutDir(nameof(Image_WritesGreyscaleWithColourbar));
        var px = new float[28, 28];
        for (int i = 0; i < 28; i++) for (int j = 0; j < 28; j++) px[i, j] = (i - 14) * (i - 14) + (j - 14) * (j - 14) < 80 ? 1f : 0.1f * (i % 4);
        var files = FeatureMaps.Image("input: Sneaker", px, Path.Combine(dir, "img"));
        FigureAssert.Valid(files, 600, FigureHeight(files.Png), "input: Sneaker", "pixel value");
    }

    [Fact]
    public void RejectsBadShapesAndNaN()
    {
        string path = Path.Combine(Path.GetTempPath(), "cnnlab-viz-tests", "never");
        var e1 = Assert.Throws<ArgumentException>(() => FeatureMaps.Grid("t", new float[10], 2, 2, 2, path));
        Assert.Contains("has 10 values but [channels, height, width] = [2, 2, 2] needs 8", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => FeatureMaps.Grid("t", [1f, float.NaN, 0, 0], 1, 2, 2, path));
        Assert.Contains("data[1] is NaN", e2.Message);
        Assert.Throws<ArgumentException>(() => FeatureMaps.Grid("t", new float[0], 0, 2, 2, path));
        Assert.Throws<ArgumentException>(() => FeatureMaps.Grid("t", new float[4], 1, 2, 2, path, maxMaps: 0));
        Assert.Throws<ArgumentException>(() => FeatureMaps.Grid("t", Array.Empty<float[,]>(), path));
        var e3 = Assert.Throws<ArgumentException>(() => FeatureMaps.Filters("t", new float[9], 1, 1, 3, 2, path));
        Assert.Contains("[out, in, kh, kw]", e3.Message);
        Assert.Throws<ArgumentException>(() => FeatureMaps.Image("t", new float[0, 0], path));
        var e4 = Assert.Throws<ArgumentException>(() => FeatureMaps.Grid("t", new float[8], 2, 2, 2, path, labels: ["only one"]));
        Assert.Contains("labels has 1 entries but there are 2 maps", e4.Message);
    }

    [Fact]
    public void Grid_DrawsGivenLabels()
    {
        string dir = FigureAssert.OutDir(nameof(Grid_DrawsGivenLabels));
        var fig = FeatureMaps.Grid("labelled", [new float[,] { { 0, 1 }, { 1, 0 } }, new float[,] { { 1, 0 }, { 0, 1 } }], Path.Combine(dir, "g"),
            labels: ["image", "shifted"]);
        string svg = File.ReadAllText(fig.Svg);
        Assert.Contains("shifted", svg);
        Assert.DoesNotContain("ch 1", svg);
    }

    /// <summary>The grid's height follows its shape; read it back to check the PNG against itself and the SVG.</summary>
    static int FigureHeight(string png)
    {
        using var bitmap = SkiaSharp.SKBitmap.Decode(png);
        Assert.InRange(bitmap.Height, 300, 4000);
        return bitmap.Height;
    }
}
