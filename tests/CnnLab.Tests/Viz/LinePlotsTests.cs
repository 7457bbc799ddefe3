using CnnLab.Viz;
using Xunit;

namespace CnnLab.Tests;

public class LinePlotsTests
{
    static (string, double[], double[]) Curve(string label, Func<double, double> f, int n = 40)
    {
        var x = Enumerable.Range(1, n).Select(i => (double)i).ToArray();
        return (label, x, x.Select(f).ToArray());
    }

    [Fact]
    public void Curves_WritesPngAndSvgWithTitleAxesAndLegend()
    {
        string dir = FigureAssert.OutDir(nameof(Curves_WritesPngAndSvgWithTitleAxesAndLegend));
        var files = LinePlots.Curves("Training curves", "epoch", "loss",
            [Curve("train", e => 2.3 * Math.Exp(-e / 8)), Curve("test", e => 2.3 * Math.Exp(-e / 10) + 0.1)],
            Path.Combine(dir, "curves"));
        Assert.Equal(Path.Combine(dir, "curves.png"), files.Png);
        FigureAssert.Valid(files, 800, 500, "Training curves", "epoch", "loss", "train", "test");
    }

    [Fact]
    public void Curves_LogYLabelsDecadesAndSkipsNonPositiveAndNaN()
    {
        string dir = FigureAssert.OutDir(nameof(Curves_LogYLabelsDecadesAndSkipsNonPositiveAndNaN));
        var diverged = Curve("lr 1", e => e < 20 ? Math.Exp(e / 2) : double.NaN);
        var files = LinePlots.Curves("Loss (log)", "step", "loss",
            [Curve("lr 1e-3", e => 1000 * Math.Exp(-e / 5)), diverged, ("zero", [1, 2], [0, 1e-2])],
            Path.Combine(dir, "log"), logY: true, width: 640, height: 480);
        FigureAssert.Valid(files, 640, 480, "Loss (log)", "loss (log scale)", "0.01", "1000", "1e+04");
    }

    [Fact]
    public void Curves_RejectsBadInputWithClearMessages()
    {
        string path = Path.Combine(Path.GetTempPath(), "cnnlab-viz-tests", "never");
        var e1 = Assert.Throws<ArgumentException>(() => LinePlots.Curves("t", "x", "y", [], path));
        Assert.Contains("at least one series", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => LinePlots.Curves("t", "x", "y", [("a", [1, 2, 3], [1, 2])], path));
        Assert.Contains("X has 3 values but Y has 2", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => LinePlots.Curves("t", "x", "y", [("nan", [1, 2], [double.NaN, double.NaN])], path));
        Assert.Contains("'nan' has no finite point", e3.Message);
        var e4 = Assert.Throws<ArgumentException>(() => LinePlots.Curves("t", "x", "y", [("a", [], [])], path));
        Assert.Contains("empty", e4.Message);
        var e5 = Assert.Throws<ArgumentException>(() => LinePlots.Curves("t", "x", "y", [("neg", [1, 2], [-1, 0])], path, logY: true));
        Assert.Contains("log scale", e5.Message);
        Assert.Throws<ArgumentException>(() => LinePlots.Curves("t", "x", "y", [("a", [1], [1])], ""));
        Assert.Throws<ArgumentException>(() => LinePlots.Curves("t", "x", "y", [("a", [1], [1])], path, width: 0));
        Assert.False(File.Exists(path + ".png"));
    }
}
