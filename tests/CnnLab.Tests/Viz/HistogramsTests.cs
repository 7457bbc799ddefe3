using CnnLab.Tensors;
using CnnLab.Viz;
using Xunit;

namespace CnnLab.Tests;

public class HistogramsTests
{
    /// <summary>tanh activations whose spread shrinks with depth, as under a too-small init.</summary>
    static IReadOnlyList<(string, float[])> Layers(int count)
    {
        var gen = new Generator(7);
        var result = new List<(string, float[])>();
        for (int l = 0; l < count; l++)
        {
            var v = new float[2000];
            gen.FillNormal(v, 0, 1.5f / (l + 1));
            for (int i = 0; i < v.Length; i++) v[i] = MathF.Tanh(v[i]);
            result.Add(($"layer {l + 1}", v));
        }
        return result;
    }

    [Fact]
    public void PerLayer_WritesOverlaidHistogramsWithStatsInLegend()
    {
        string dir = FigureAssert.OutDir(nameof(PerLayer_WritesOverlaidHistogramsWithStatsInLegend));
        var files = Histograms.PerLayer("Activations at init (tanh)", Layers(5), Path.Combine(dir, "act"),
            xLabel: "activation value");
        FigureAssert.Valid(files, 800, 500, "Activations at init (tanh)", "activation value", "density", "layer 1", "layer 5", "std");
    }

    [Fact]
    public void PerLayer_LogScaleIgnoresNaNAndHandlesConstantLayers()
    {
        string dir = FigureAssert.OutDir(nameof(PerLayer_LogScaleIgnoresNaNAndHandlesConstantLayers));
        var layers = Layers(2).ToList();
        layers.Add(("zero init", new float[100]));
        layers.Add(("some NaN", [0.1f, float.NaN, 0.2f, float.PositiveInfinity]));
        var files = Histograms.PerLayer("Gradients", layers, Path.Combine(dir, "grad"), bins: 30, logY: true, range: (-1, 1));
        FigureAssert.Valid(files, 800, 500, "Gradients", "density (log scale)", "zero init", "some NaN");
    }

    [Fact]
    public void PerLayer_RejectsBadInput()
    {
        string path = Path.Combine(Path.GetTempPath(), "cnnlab-viz-tests", "never");
        Assert.Throws<ArgumentException>(() => Histograms.PerLayer("t", [], path));
        var e1 = Assert.Throws<ArgumentException>(() => Histograms.PerLayer("t", [("dead", [float.NaN, float.NaN])], path));
        Assert.Contains("'dead' has no finite value", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => Histograms.PerLayer("t", [("l", [1f])], path, bins: 1));
        Assert.Contains("bins", e2.Message);
        Assert.Throws<ArgumentException>(() => Histograms.PerLayer("t", [("l", [])], path));
    }
}
