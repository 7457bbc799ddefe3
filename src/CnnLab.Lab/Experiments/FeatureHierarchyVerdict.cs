using static System.FormattableString;

namespace CnnLab.Lab.Experiments;

/// <summary>The numbers <see cref="FeatureHierarchyVerdict"/> judges, one entry per conv layer from the input up.</summary>
/// <param name="ReceptiveFields">Receptive-field side of each layer, in pixels.</param>
/// <param name="ProbeAccuracy">Test accuracy of a linear probe on each layer's pooled features.</param>
/// <param name="Selectivity">Mean class-selectivity index of each layer's live channels.</param>
/// <param name="EdgeShareTrained">Share of first-layer filters that are edge-like after training.</param>
/// <param name="EdgeShareInit">The same share at initialization (the chance level of the definition).</param>
/// <param name="ImageSize">Side of the input images (28).</param>
/// <param name="TestImages">Images the probes are tested on (sets the noise of an accuracy).</param>
/// <param name="DeepestBreadth">Mean number of classes a deepest-layer channel answers at half its preferred class's strength or more.</param>
/// <param name="FirstLayerChange">‖W − W₀‖ / ‖W₀‖ of the first layer's filters: how far training moved them from their init.</param>
internal sealed record HierarchyMeasurements(
    int[] ReceptiveFields, double[] ProbeAccuracy, double[] Selectivity, double EdgeShareTrained, double EdgeShareInit, int ImageSize,
    int TestImages, double DeepestBreadth, double FirstLayerChange);

/// <summary>
/// The verdict of <see cref="FeatureHierarchyExperiment"/>, computed from its curves. A curve "rises with depth" when its
/// Spearman rank correlation with depth is at least <see cref="MinRankCorrelation"/> and its last layer exceeds its first
/// (for the probe by more than two standard errors of a difference of accuracies on the test images, √(2p(1−p)/n)).
/// The first layer "detects edges" when at least half its filters are edge-like and more than at initialization.
/// "Deep layers → objects" is judged an overstatement where the deepest layer's mean selectivity is below
/// <see cref="ObjectSelectivity"/> (a channel prefers its class by less than 3 : 1 over the mean of the others, SI = 0.5),
/// and where the layers' receptive fields are smaller than the image (they can see parts only).
/// </summary>
internal static class FeatureHierarchyVerdict
{
    public const double MinRankCorrelation = 0.6;
    public const double ObjectSelectivity = 0.5;

    public static (string Text, bool Agrees, Dictionary<string, object?> Metrics) Judge(HierarchyMeasurements m)
    {
        int n = m.ProbeAccuracy.Length;
        var depth = Enumerable.Range(1, n).Select(d => (double)d).ToArray();
        double probeRho = Spearman(depth, m.ProbeAccuracy), siRho = Spearman(depth, m.Selectivity);
        double p0 = m.ProbeAccuracy[0], se = Math.Sqrt(2 * p0 * (1 - p0) / m.TestImages);
        double probeGain = m.ProbeAccuracy[^1] - p0;
        bool probeRises = probeRho >= MinRankCorrelation && probeGain > 2 * se;
        bool siRises = siRho >= MinRankCorrelation && m.Selectivity[^1] > m.Selectivity[0];
        bool edges = m.EdgeShareTrained >= 0.5 && m.EdgeShareTrained > m.EdgeShareInit;
        int wholeFrom = Array.FindIndex(m.ReceptiveFields, r => r >= m.ImageSize);
        double best = m.ProbeAccuracy.Max();
        int nearBest = Array.FindIndex(m.ProbeAccuracy, a => a >= best - 2 * se);
        bool objectsOverstated = m.Selectivity[^1] < ObjectSelectivity;
        bool agrees = probeRises && siRises && edges;
        string L(int i) => Invariant($"layer {i + 1}");
        string Pct(double v) => Invariant($"{v * 100:0.0}%");
        var text = new List<string>
        {
            Invariant($"Linear-probe test accuracy by depth: {string.Join(", ", m.ProbeAccuracy.Select(Pct))} ")
                + Invariant($"(Spearman ρ with depth {probeRho:0.00}; last − first {probeGain * 100:+0.0;-0.0} points, ")
                + Invariant($"noise 2σ = {2 * se * 100:0.0}). ")
                + (probeRises ? "The classes become more linearly decodable with depth, as Alain and Bengio report."
                    : "The probe does not rise clearly with depth here."),
            Invariant($"Mean class selectivity by depth: {string.Join(", ", m.Selectivity.Select(s => Invariant($"{s:0.00}")))} ")
                + Invariant($"(ρ {siRho:0.00}). ")
                + (siRises ? "Channels become more class-specific with depth, as Morcos et al. find."
                    : "Selectivity does not rise clearly with depth here."),
            Invariant($"First layer: {Pct(m.EdgeShareTrained)} of the filters are edge-like (oriented energy > half) after training, ")
                + Invariant($"{Pct(m.EdgeShareInit)} at initialization (training moved them by {m.FirstLayerChange * 100:0}% of their norm); ")
                + (edges ? "early layers → edges holds." : "the first layer is not mostly edge detectors on this budget."),
        };
        string fields = Invariant($"Receptive fields {string.Join(", ", m.ReceptiveFields.Select(r => $"{r}"))} px on a {m.ImageSize}-px image: ");
        fields += wholeFrom < 0
            ? "no layer sees the whole garment, so every layer can only code parts."
            : wholeFrom == 0 ? "every layer sees the whole image."
            : Invariant($"{L(0)}–{L(wholeFrom - 1)} see parts of the garment only; from {L(wholeFrom)} on ")
                + "a unit sees the whole image.";
        text.Add(fields);
        text.Add(objectsOverstated
            ? Invariant($"\"Deep layers → objects\" is an overstatement here: the deepest layer's mean selectivity is {m.Selectivity[^1]:0.00}, ")
                + Invariant($"so a typical channel prefers one class by less than 3 : 1 and answers {m.DeepestBreadth:0.0} of the 10 classes ")
                + "at half strength or more: it codes a shape shared by several garments rather than an object; "
                + "on 28×28 images of one centred garment the 'object' is the "
                + Invariant($"whole input, and the probe is within noise of its best already at {L(nearBest)}.")
            : Invariant($"The deepest layer is class-selective (mean SI {m.Selectivity[^1]:0.00}, {m.DeepestBreadth:0.0} classes per channel ")
                + "at half strength or more): its channels act as garment detectors, "
                + Invariant($"the 28×28 version of 'objects'; the probe is within noise of its best from {L(nearBest)} on."));
        text.Add(agrees
            ? "Verdict: agrees — edges first, then features that are ever more linearly separable and class-specific."
            : "Verdict: partly — " + string.Join("; ", new[]
            {
                probeRises ? null : "the probe accuracy does not rise with depth",
                siRises ? null : "selectivity does not rise with depth",
                edges ? null : "the first layer is not mostly edge-like",
            }.Where(s => s is not null)) + ".");
        var metrics = new Dictionary<string, object?>
        {
            ["probe_rank_correlation"] = probeRho, ["selectivity_rank_correlation"] = siRho, ["probe_gain"] = probeGain,
            ["probe_noise_2se"] = 2 * se, ["probe_rises"] = probeRises, ["selectivity_rises"] = siRises, ["edges_agree"] = edges,
            ["objects_overstated"] = objectsOverstated, ["first_layer_seeing_whole_image"] = wholeFrom < 0 ? null : wholeFrom + 1,
            ["first_layer_within_noise_of_best_probe"] = nearBest + 1, ["deepest_class_breadth"] = m.DeepestBreadth,
        };
        return (string.Join(" ", text), agrees, metrics);
    }

    /// <summary>Spearman's rank correlation (average ranks for ties); NaN values rank lowest.</summary>
    public static double Spearman(double[] a, double[] b)
    {
        double[] Ranks(double[] v)
        {
            var order = Enumerable.Range(0, v.Length).OrderBy(i => double.IsNaN(v[i]) ? double.NegativeInfinity : v[i]).ToArray();
            var r = new double[v.Length];
            for (int i = 0; i < order.Length;)
            {
                int j = i;
                while (j + 1 < order.Length && v[order[j + 1]].Equals(v[order[i]])) j++;
                for (int k = i; k <= j; k++) r[order[k]] = (i + j) / 2.0;
                i = j + 1;
            }
            return r;
        }
        var ra = Ranks(a);
        var rb = Ranks(b);
        double ma = ra.Average(), mb = rb.Average(), cov = 0, va = 0, vb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            cov += (ra[i] - ma) * (rb[i] - mb);
            va += (ra[i] - ma) * (ra[i] - ma);
            vb += (rb[i] - mb) * (rb[i] - mb);
        }
        return va == 0 || vb == 0 ? 0 : cov / Math.Sqrt(va * vb);
    }
}
