using CnnLab.Serialization;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// Reads PyTorch reference fixtures (safetensors files made by tools/reference/*.py and committed
/// under tests/CnnLab.Tests/Fixtures) and compares tensors with them.
/// </summary>
public static class Fixtures
{
    public static string Root => Path.Combine(AppContext.BaseDirectory, "Fixtures");

    /// <summary>All fixture names (without extension) in <paramref name="subdir"/>.</summary>
    public static IEnumerable<string> Names(string subdir) =>
        Directory.Exists(Path.Combine(Root, subdir))
            ? Directory.GetFiles(Path.Combine(Root, subdir), "*.safetensors").Select(Path.GetFileNameWithoutExtension).Order().Select(n => n!)
            : [];

    public static SafeTensors.Contents Load(string subdir, string name)
    {
        var path = Path.Combine(Root, subdir, name + ".safetensors");
        Assert.True(File.Exists(path), $"fixture {subdir}/{name} is missing: run the script in tools/reference/ (see its README)");
        return SafeTensors.Load(path);
    }

    /// <summary>The case's JSON configuration.</summary>
    public static System.Text.Json.JsonElement Config(SafeTensors.Contents c) =>
        System.Text.Json.JsonDocument.Parse(c.Metadata["config"]).RootElement.Clone();

    /// <summary>
    /// Asserts |actual − expected| ≤ atol + rtol·|expected| elementwise, naming the worst element and the generator to re-run.
    /// </summary>
    public static void AssertClose(Tensor expected, Tensor actual, double rtol, double atol, string what, string? generator = null)
    {
        Assert.True(Shape.Equal(expected.Shape, actual.Shape),
            $"{what}: shape {Shape.Format(actual.Shape)}, expected {Shape.Format(expected.Shape)}");
        double worst = 0;
        int worstAt = -1;
        for (int i = 0; i < expected.Numel; i++)
        {
            double e = expected.Storage[i], a = actual.Storage[i];
            double excess = Math.Abs(a - e) - (atol + rtol * Math.Abs(e));
            if (double.IsNaN(a) && !double.IsNaN(e)) excess = double.PositiveInfinity;
            if (excess > worst) { worst = excess; worstAt = i; }
        }
        Assert.True(worstAt < 0,
            worstAt < 0 ? "" : $"{what}: element {worstAt} is {actual.Storage[worstAt]:G9}, "
            + $"PyTorch gives {expected.Storage[worstAt]:G9} (rtol {rtol}, atol {atol})"
            + (generator is null ? "" : $"; if PyTorch's numbers changed, re-run {generator}"));
    }
}
