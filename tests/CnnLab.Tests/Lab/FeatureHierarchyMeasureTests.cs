using CnnLab.Lab.Experiments;
using CnnLab.Nn;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

public class FeatureHierarchyMeasureTests
{
    [Fact]
    public void EdgeFilters_GradientsAreOriented_ConstantIsDc_ALaplacianHasNoOrientedPart()
    {
        float[] prewitt = [-1, 0, 1, -1, 0, 1, -1, 0, 1], constant = [1, 1, 1, 1, 1, 1, 1, 1, 1], laplace = [0, 1, 0, 1, -4, 1, 0, 1, 0];
        float[] bar = [-1, 2, -1, -1, 2, -1, -1, 2, -1];   // a vertical line
        var s = EdgeFilters.Shares([.. prewitt, .. constant, .. laplace, .. bar], 4, 1, 3);
        Assert.Equal(1, s[0].Oriented, 9);
        // Sobel is x·(2 − y²): its cubic x·y² part (1/9 of the energy) is beyond the second-order terms.
        Assert.Equal(8.0 / 9, EdgeFilters.Shares([-1, 0, 1, -2, 0, 2, -1, 0, 1], 1, 1, 3)[0].Oriented, 9);
        Assert.Equal(1, s[1].Dc, 9);
        Assert.Equal(0, s[2].Oriented, 9);
        Assert.Equal(0, s[2].Dc, 9);
        Assert.Equal(0.2, s[2].Isotropic, 9);   // the rest of the 4-neighbour Laplacian is its x²y² term, beyond second order
        // The bar −1 2 −1 across x is −3(x² − 2/3) per row: half x² − y², half x² + y² (minus its mean).
        Assert.Equal(0.5, s[3].Oriented, 9);
        Assert.Equal(0.5, EdgeFilters.EdgeLikeShare(s.Take(2)));
    }

    [Fact]
    public void EdgeFilters_RandomFiltersHaveFourNinthsOrientedEnergyOnAverage()
    {
        var w = new float[4000 * 9];
        new Generator(3).FillNormal(w, 0, 1);
        var mean = EdgeFilters.Shares(w, 4000, 1, 3).Average(s => s.Oriented);
        Assert.Equal(4.0 / 9, mean, 0.01);
    }

    [Fact]
    public void ClassSelectivity_IsOneForAOneClassUnit_ZeroForAnIndifferentOne_NaNForADeadOne()
    {
        int[] labels = [0, 1, 2, 0, 1, 2];
        double[][] act = [[0, 1, 0], [0, 1, 0], [5, 1, 0], [0, 1, 0], [0, 1, 0], [3, 1, 0]];
        var si = ClassSelectivity.Of(act, labels, 3);
        Assert.Equal((1.0, 2), (Math.Round(si[0].Index, 6), si[0].PreferredClass));
        Assert.Equal(0, si[1].Index, 9);
        Assert.True(double.IsNaN(si[2].Index));
        Assert.Equal(0.5, ClassSelectivity.Mean(si), 6);
        Assert.Equal(2, ClassSelectivity.MeanBreadth(act, labels, 3), 9);   // (1 class + 3 classes) / 2 live channels
    }

    [Fact]
    public void ReceptiveFields_OfTheVggNetwork_AndTheirWindowsStayInTheImage()
    {
        var (model, layers) = FeatureHierarchyExperiment.Build([4, 4, 4], new Generator(0));
        var fields = ReceptiveField.Of(model, model.Count);
        Assert.Equal([3, 5, 10, 14, 24, 32], layers.Select(i => fields[i].Size));
        Assert.Equal([1, 1, 2, 2, 4, 4], layers.Select(i => fields[i].Jump));
        Assert.Equal((0, 0, 3), fields[layers[0]].Window(0, 0, 28));        // a 3×3 field at the corner, clipped to the image
        Assert.Equal((9, 4, 3), fields[layers[0]].Window(10, 5, 28));
        Assert.Equal((0, 0, 28), fields[layers[5]].Window(3, 3, 28));       // 32 px: the whole image
    }

    [Fact]
    public void LinearProbe_SeparatesSeparableFeatures_AndIsAtChanceOnNoise()
    {
        var g = new Generator(1);
        float[][] Make(int n, Func<int, int> label, bool informative) => Enumerable.Range(0, n).Select(i =>
            Enumerable.Range(0, 8).Select(j => (float)g.NextGaussian() + (informative && j == label(i) % 8 ? 4f : 0f)).ToArray()).ToArray();
        int[] trainY = Enumerable.Range(0, 400).Select(i => i % 4).ToArray(), testY = Enumerable.Range(0, 200).Select(i => i % 4).ToArray();
        Assert.True(LinearProbe.TestAccuracy(Make(400, i => i % 4, true), trainY, Make(200, i => i % 4, true), testY, 4, 100, 0) > 0.95);
        Assert.InRange(LinearProbe.TestAccuracy(Make(400, i => i % 4, false), trainY, Make(200, i => i % 4, false), testY, 4, 100, 0), 0.1, 0.4);
    }

    [Fact]
    public void ActivationMaximization_RaisesTheChannelsItIsAskedFor()
    {
        var (model, layers) = FeatureHierarchyExperiment.Build([4, 4, 4], new Generator(0));
        (int, int)[] units = [(layers[1], 2), (layers[5], 0)];
        double Mean(float[] image, int layer, int channel)
        {
            Tensor h = Tensor.FromArray(image, 1, 1, 28, 28);
            using (Autograd.NoGrad()) for (int m = 0; m <= layer; m++) h = model[m].Forward(h);
            int hw = h.Shape[2] * h.Shape[3];
            return h.Data.Slice(channel * hw, hw).ToArray().Average();
        }
        var noise = new float[784];
        new Generator(5).FillNormal(noise, 0, ActivationMaximization.StartStd);
        var images = ActivationMaximization.Run(model, units, steps: 20, seed: 5);
        Assert.Equal(2, images.Length);
        for (int u = 0; u < units.Length; u++)
        {
            double before = Mean(noise, units[u].Item1, units[u].Item2), after = Mean(images[u], units[u].Item1, units[u].Item2);
            Assert.True(after > 2 * before && after > before + 0.01, $"unit {u}: {before} → {after}");
        }
    }

    [Fact]
    public void TinyRun_MeasuresEveryLayer_DrawsEveryFigure_AndItsVerdictFollowsItsNumbers()
    {
        var ctx = LabTestContext.Create("feature-hierarchy");
        var r = new FeatureHierarchyExperiment(new FeatureHierarchyBudget([4, 4, 8], 20, 32, 1e-3, 300, 200, 20, 2, 3)).Run(ctx);
        var probe = (double[])r.Metrics["probe_test_accuracy"]!;
        Assert.Equal(6, probe.Length);
        Assert.All(probe, p => Assert.InRange(p, 0, 1));
        Assert.Equal([3, 5, 10, 14, 24, 32], (int[])r.Metrics["receptive_field"]!);
        Assert.Equal((bool)r.Metrics["probe_rises"]! && (bool)r.Metrics["selectivity_rises"]! && (bool)r.Metrics["edges_agree"]!, r.Agrees);
        Assert.Contains($"{probe[0] * 100:0.0}%".Replace(',', '.'), r.Verdict);
        // curves, filters, top patches of each of the 6 layers, activation maximization, training loss
        Assert.Equal(10, r.Figures.Count);
        Assert.All(r.Figures, f => Assert.True(File.Exists(f.Png), f.Png));
        Assert.Contains(CnnLab.Lab.ExperimentCatalog.All(), e => e.Name == "feature-hierarchy");
    }
}
