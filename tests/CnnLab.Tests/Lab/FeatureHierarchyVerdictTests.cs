using CnnLab.Lab.Experiments;
using Xunit;

namespace CnnLab.Tests;

public class FeatureHierarchyVerdictTests
{
    private static readonly int[] Fields = [3, 5, 10, 14, 24, 32];

    private static HierarchyMeasurements Curves(double[] probe, double[] si, double edges = 0.7, double edgesInit = 0.4, double breadth = 4) =>
        new(Fields, probe, si, edges, edgesInit, 28, 1000, breadth, 0.25);

    [Fact]
    public void RisingProbeAndSelectivity_WithEdgeLikeFilters_Agree()
    {
        var (text, agrees, m) = FeatureHierarchyVerdict.Judge(Curves([0.70, 0.74, 0.78, 0.81, 0.84, 0.86], [0.1, 0.15, 0.2, 0.3, 0.4, 0.6]));
        Assert.True(agrees);
        Assert.True((bool)m["probe_rises"]!);
        Assert.True((bool)m["selectivity_rises"]!);
        Assert.Equal(1.0, (double)m["probe_rank_correlation"]!, 12);
        Assert.Contains("Linear-probe test accuracy by depth: 70.0%, 74.0%, 78.0%, 81.0%, 84.0%, 86.0%", text);
        Assert.Contains("Verdict: agrees", text);
        // SI 0.6 at the top: class-selective, so "objects" is not called an overstatement.
        Assert.False((bool)m["objects_overstated"]!);
        Assert.Contains("garment detectors", text);
    }

    [Fact]
    public void AFlatProbe_IsNotARise_EvenWithAHigherLastLayer()
    {
        // +1 point over six layers is within two standard errors on 1,000 test images (2σ ≈ 3.5 points).
        var (text, agrees, m) = FeatureHierarchyVerdict.Judge(Curves([0.82, 0.83, 0.83, 0.835, 0.84, 0.83], [0.1, 0.15, 0.2, 0.3, 0.4, 0.6]));
        Assert.False(agrees);
        Assert.False((bool)m["probe_rises"]!);
        Assert.Contains("Verdict: partly — the probe accuracy does not rise with depth.", text);
        Assert.Equal(1, (int)m["first_layer_within_noise_of_best_probe"]!);
    }

    [Fact]
    public void LowDeepSelectivity_MakesObjectsAnOverstatement_AndSaysWhichLayersSeeOnlyParts()
    {
        var (text, _, m) = FeatureHierarchyVerdict.Judge(
            Curves([0.70, 0.74, 0.78, 0.81, 0.84, 0.86], [0.1, 0.12, 0.15, 0.2, 0.3, 0.4], breadth: 3.4));
        Assert.True((bool)m["objects_overstated"]!);
        Assert.Contains("\"Deep layers → objects\" is an overstatement here: the deepest layer's mean selectivity is 0.40", text);
        Assert.Contains("answers 3.4 of the 10 classes", text);
        Assert.Contains("layer 1–layer 5 see parts of the garment only; from layer 6 on a unit sees the whole image", text);
        Assert.Equal(6, (int)m["first_layer_seeing_whole_image"]!);
    }

    [Fact]
    public void FallingSelectivity_OrEdgesAtChanceLevel_AreReportedAsDisagreements()
    {
        var (text, agrees, _) = FeatureHierarchyVerdict.Judge(
            Curves([0.70, 0.74, 0.78, 0.81, 0.84, 0.86], [0.6, 0.5, 0.4, 0.3, 0.2, 0.1], edges: 0.4, edgesInit: 0.45));
        Assert.False(agrees);
        Assert.Contains("selectivity does not rise with depth; the first layer is not mostly edge-like.", text);
        Assert.Contains("40.0% of the filters are edge-like (oriented energy > half) after training, 45.0% at initialization "
            + "(training moved them by 25% of their norm)", text);
    }

    [Fact]
    public void Spearman_IsOneForAnyIncreasingCurve_MinusOneReversed_AndHandlesTies()
    {
        double[] d = [1, 2, 3, 4];
        Assert.Equal(1, FeatureHierarchyVerdict.Spearman(d, [0.1, 5, 6, 100]), 12);
        Assert.Equal(-1, FeatureHierarchyVerdict.Spearman(d, [4, 3, 2, 1]), 12);
        Assert.Equal(0, FeatureHierarchyVerdict.Spearman(d, [1, 1, 1, 1]), 12);
        Assert.Equal(0.9486832980505138, FeatureHierarchyVerdict.Spearman(d, [1, 2, 2, 3]), 12);   // scipy.stats.spearmanr
    }
}
