using CnnLab.Viz;
using Xunit;

namespace CnnLab.Tests;

public class HeatmapsTests
{
    [Fact]
    public void Grid_WritesAnnotatedGridWithColorbarAndLabels()
    {
        string dir = FigureAssert.OutDir(nameof(Grid_WritesAnnotatedGridWithColorbarAndLabels));
        string[] lrs = ["1e-4", "3e-4", "1e-3", "3e-3", "1e-2"];
        string[] wds = ["0", "1e-4", "1e-3", "1e-2", "1e-1"];
        var acc = new double[5, 5];
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 5; j++)
                acc[i, j] = 0.9 - 0.02 * Math.Abs(i + j - 4);   // a diagonal valley, as Adam + L2 shows
        acc[4, 4] = double.NaN;                                 // a diverged run
        var files = Heatmaps.Grid("Adam + L2: test accuracy", acc, lrs, wds, "weight decay", "learning rate",
            Path.Combine(dir, "grid"), colorbarLabel: "test accuracy");
        FigureAssert.Valid(files, 800, 500, "Adam + L2: test accuracy", "weight decay", "learning rate",
            "test accuracy", "3e-3", "0.9", "NaN");
    }

    [Fact]
    public void Grid_PutsRowZeroAtTheTop()
    {
        // A 2x1 grid: row 0 = high (yellow end of viridis), row 1 = low (purple end). Sample each cell's centre.
        string dir = FigureAssert.OutDir(nameof(Grid_PutsRowZeroAtTheTop));
        var files = Heatmaps.Grid("orientation", new double[,] { { 1 }, { 0 } }, ["top", "bottom"], ["c"], "x", "y",
            Path.Combine(dir, "o"), annotate: false);
        FigureAssert.Valid(files, 800, 500, "orientation", "top", "bottom");
        // The data area spans most of the image; its top quarter is row 0, bottom quarter row 1.
        var top = FigureAssert.Pixel(files.Png, 350, 140);
        var bottom = FigureAssert.Pixel(files.Png, 350, 380);
        Assert.True(top.Red > 200 && top.Green > 200 && top.Blue < 100, $"top cell should be yellow, got {top}");
        Assert.True(bottom.Red > 50 && bottom.Blue > 50 && bottom.Green < 30, $"bottom cell should be dark purple, got {bottom}");
    }

    [Fact]
    public void Grid_ConfusionMatrixWithFixedRange()
    {
        string dir = FigureAssert.OutDir(nameof(Grid_ConfusionMatrixWithFixedRange));
        string[] classes = ["T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Boot"];
        var m = new double[10, 10];
        for (int i = 0; i < 10; i++)
            for (int j = 0; j < 10; j++)
                m[i, j] = i == j ? 80 + i : (i * 7 + j * 3) % 5;
        var files = Heatmaps.Grid("Confusion matrix", m, classes, classes, "predicted", "true",
            Path.Combine(dir, "confusion"), colorbarLabel: "count", range: (0, 100), width: 900, height: 800);
        FigureAssert.Valid(files, 900, 800, "Confusion matrix", "Sneaker", "predicted", "89");
    }

    [Fact]
    public void Grid_RejectsBadInput()
    {
        string path = Path.Combine(Path.GetTempPath(), "cnnlab-viz-tests", "never");
        var e1 = Assert.Throws<ArgumentException>(() => Heatmaps.Grid("t", new double[2, 3], ["a", "b"], ["x", "y"], "x", "y", path));
        Assert.Contains("colLabels has 2 labels", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => Heatmaps.Grid("t", new double[,] { { double.NaN } }, ["a"], ["x"], "x", "y", path));
        Assert.Contains("every cell is NaN", e2.Message);
        Assert.Throws<ArgumentException>(() => Heatmaps.Grid("t", new double[0, 0], [], [], "x", "y", path));
        Assert.Throws<ArgumentException>(() => Heatmaps.Grid("t", new double[,] { { 1 } }, ["a"], ["x"], "x", "y", path, range: (1, 1)));
    }
}
