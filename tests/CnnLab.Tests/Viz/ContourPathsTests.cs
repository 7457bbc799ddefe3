using CnnLab.Viz;
using Xunit;

namespace CnnLab.Tests;

public class ContourPathsTests
{
    static double Rosenbrock(double x, double y) => (1 - x) * (1 - x) + 100 * (y - x * x) * (y - x * x);

    /// <summary>Gradient descent on f from (x0, y0): the kind of path the optimizers experiment draws.</summary>
    static (string, double[], double[]) Descent(string label, Func<double, double, (double, double)> grad, double x0, double y0, double lr, int steps)
    {
        var xs = new double[steps + 1];
        var ys = new double[steps + 1];
        (xs[0], ys[0]) = (x0, y0);
        for (int t = 0; t < steps; t++)
        {
            var (gx, gy) = grad(xs[t], ys[t]);
            xs[t + 1] = xs[t] - lr * gx;
            ys[t + 1] = ys[t] - lr * gy;
        }
        return (label, xs, ys);
    }

    [Fact]
    public void Plot_RosenbrockWithLogLevelsAndTwoPaths()
    {
        string dir = FigureAssert.OutDir(nameof(Plot_RosenbrockWithLogLevelsAndTwoPaths));
        Func<double, double, (double, double)> grad = (x, y) => (-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x));
        var files = ContourPaths.Plot("Rosenbrock's valley", Rosenbrock, (-2, 2), (-1, 3),
            [Descent("SGD lr 1e-3", grad, -1.5, 2.5, 1e-3, 400), Descent("SGD lr 2e-4", grad, -1.5, 2.5, 2e-4, 400)],
            Path.Combine(dir, "rosenbrock"), logLevels: true);
        FigureAssert.Valid(files, 800, 500, "Rosenbrock's valley", "SGD lr 1e-3", "SGD lr 2e-4");
    }

    [Fact]
    public void Plot_SaddleWithADivergedPath()
    {
        string dir = FigureAssert.OutDir(nameof(Plot_SaddleWithADivergedPath));
        var files = ContourPaths.Plot("Saddle x² - y²", (x, y) => x * x - y * y, (-1, 1), (-1, 1),
            [("stuck", [0.9, 0.5, 0.2, 0.05, 0.01], [1e-3, 1.2e-3, 1.5e-3, 2e-3, 3e-3]),
             ("diverged", [0.5, 0.8, 3, double.NaN], [0.5, 0.9, 4, double.NaN])],
            Path.Combine(dir, "saddle"));
        FigureAssert.Valid(files, 800, 500, "Saddle x² - y²", "stuck", "diverged");
    }

    [Fact]
    public void Plot_RejectsBadInput()
    {
        string path = Path.Combine(Path.GetTempPath(), "cnnlab-viz-tests", "never");
        (string, double[], double[])[] ok = [("p", [0.0], [0.0])];
        Assert.Throws<ArgumentException>(() => ContourPaths.Plot("t", Rosenbrock, (1, -1), (-1, 1), ok, path));
        Assert.Throws<ArgumentException>(() => ContourPaths.Plot("t", Rosenbrock, (-1, 1), (-1, 1), [], path));
        var e1 = Assert.Throws<ArgumentException>(() => ContourPaths.Plot("t", Rosenbrock, (-1, 1), (-1, 1), [("p", [0.0, 1], [0.0])], path));
        Assert.Contains("X has 2 values but Y has 1", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => ContourPaths.Plot("t", (x, y) => double.NaN, (-1, 1), (-1, 1), ok, path));
        Assert.Contains("not finite anywhere", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => ContourPaths.Plot("t", Rosenbrock, (-1, 1), (-1, 1), [("p", [double.NaN], [0.0])], path));
        Assert.Contains("no finite starting point", e3.Message);
    }
}
