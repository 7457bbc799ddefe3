using CnnLab.Viz;
using Xunit;

namespace CnnLab.Tests;

public class BarChartsTests
{
    [Fact]
    public void Grouped_WritesBarsWithGroupLabelsAndLegend()
    {
        string dir = FigureAssert.OutDir(nameof(Grouped_WritesBarsWithGroupLabelsAndLegend));
        var files = BarCharts.Grouped("Pooling: accuracy and robustness",
            ["max", "average", "strided conv", "global avg"],
            [("test accuracy", [0.89, 0.87, 0.88, 0.84]), ("accuracy, 2 px shift", [0.71, 0.66, 0.60, 0.80])],
            "accuracy", Path.Combine(dir, "bars"));
        FigureAssert.Valid(files, 800, 500, "Pooling: accuracy and robustness", "strided conv", "test accuracy", "0.89");
    }

    [Fact]
    public void Grouped_RejectsMismatchedAndEmptyInput()
    {
        string path = Path.Combine(Path.GetTempPath(), "cnnlab-viz-tests", "never");
        var e1 = Assert.Throws<ArgumentException>(() => BarCharts.Grouped("t", ["a", "b"], [("s", [1.0])], "y", path));
        Assert.Contains("has 1 values but there are 2 groups", e1.Message);
        Assert.Throws<ArgumentException>(() => BarCharts.Grouped("t", [], [("s", [])], "y", path));
        Assert.Throws<ArgumentException>(() => BarCharts.Grouped("t", ["a"], [], "y", path));
        var e2 = Assert.Throws<ArgumentException>(() => BarCharts.Grouped("t", ["a"], [("s", [double.NaN])], "y", path));
        Assert.Contains("no finite value", e2.Message);
    }
}
