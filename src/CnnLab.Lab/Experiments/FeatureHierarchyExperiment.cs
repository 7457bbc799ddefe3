using System.Globalization;
using CnnLab.Init.Networks;
using CnnLab.Nn;
using CnnLab.Optim;
using CnnLab.Tensors;
using CnnLab.Viz;
using static System.FormattableString;

namespace CnnLab.Lab.Experiments;

/// <summary>
/// The notes' hierarchy "early layers → edges, middle layers → shapes, deep layers → objects", measured layer by layer
/// in a 6-conv VGG-style network (Simonyan and Zisserman 2015, arXiv:1409.1556: 3×3 convs in pairs, max pooling
/// between stages): each layer's receptive field (<see cref="ReceptiveField"/>), the test accuracy of a linear probe on its
/// pooled features (<see cref="LinearProbe"/>; Alain and Bengio 2016), its channels' class-selectivity index
/// (<see cref="ClassSelectivity"/>; Morcos et al. 2018), the share of edge-like first-layer filters (<see cref="EdgeFilters"/>),
/// and, as pictures, the test patches that excite a few channels most (Zeiler and Fergus 2014, arXiv:1311.2901) and an
/// activation-maximization image per channel (<see cref="ActivationMaximization"/>; Erhan et al. 2009, Olah et al. 2017).
/// The verdict is computed from the probe and selectivity curves (<see cref="FeatureHierarchyVerdict"/>).
/// </summary>
public sealed class FeatureHierarchyExperiment : Experiment
{
    private readonly FeatureHierarchyBudget? _budget;

    public FeatureHierarchyExperiment() { }

    internal FeatureHierarchyExperiment(FeatureHierarchyBudget budget) => _budget = budget;

    public override ExperimentInfo Info { get; } = new(
        Name: "feature-hierarchy",
        Title: "The feature hierarchy, measured: edges, then shapes, then objects?",
        Topic: "CNNs",
        Order: 115,
        Claim: "Hierarchy of features: early layers → edges, middle layers → shapes, deep layers → objects.");

    /// <summary>The network: per stage two (Conv 3×3 pad 1 → ReLU), max pooling between stages, then global average
    /// pooling and a linear classifier, initialized by the notes' table (Kaiming for ReLU layers, Xavier for the output).
    /// Returns it with the module index of each layer's ReLU.</summary>
    internal static (Sequential Model, int[] Layers) Build(int[] widths, Generator g)
    {
        var s = new Sequential();
        var layers = new List<int>();
        int inC = 1;
        for (int stage = 0; stage < widths.Length; stage++)
        {
            if (stage > 0) s.Add(new MaxPool2d(2));
            for (int k = 0; k < 2; k++)
            {
                s.Add(new Conv2d(inC, widths[stage], 3, padding: 1, generator: g));
                s.Add(new ReLU());
                layers.Add(s.Count - 1);
                inC = widths[stage];
            }
        }
        s.Add(new AdaptiveAvgPool2d(1));
        s.Add(new Flatten());
        s.Add(new Linear(inC, 10, generator: g));
        // He et al. 2015 for the ReLU layers: six plain layers train at once, with no BatchNorm to blur what a channel codes.
        InitScheme.Parse("auto").Apply(s, g);
        return (s, layers.ToArray());
    }

    public override ExperimentResult Run(LabContext ctx)
    {
        var b = _budget ?? (ctx.Quick ? FeatureHierarchyBudget.Quick : FeatureHierarchyBudget.Full);
        var (model, layers) = Build(b.Widths, new Generator(ctx.Seed));
        var conv1 = (Conv2d)model[0];
        var initialFilters = conv1.Weight.Data.ToArray();
        double edgeInit = EdgeFilters.EdgeLikeShare(EdgeFilters.Shares(conv1.Weight.Data, conv1.OutChannels, 1, conv1.KernelSize.H));
        var optimizer = new AdamW(model.Parameters(), b.Lr);
        var losses = LabTraining.Train(model, optimizer, LabTraining.Loader(ctx.Data.Train, b.BatchSize, ctx.Seed), b.Steps);
        var test = ctx.Data.Test.Take(b.TestImages);
        var probeTrain = ctx.Data.Train.Take(b.ProbeTrainImages);
        double cnnAccuracy = LabTraining.Evaluate(model, test).Accuracy;
        ctx.Log.WriteLine(Invariant($"  trained {b.Steps} steps: test accuracy {cnnAccuracy:0.000}"));

        var testReadout = LayerReadout.Read(model, layers, test, topK: 4);
        var trainReadout = LayerReadout.Read(model, layers, probeTrain, topK: 1);
        var testLabels = Enumerable.Range(0, test.Count).Select(test.Label).ToArray();
        var trainLabels = Enumerable.Range(0, probeTrain.Count).Select(probeTrain.Label).ToArray();
        var fields = ReceptiveField.Of(model, model.Count);
        int n = layers.Length;
        var probe = new double[n];
        var selectivity = new (double Index, int PreferredClass)[n][];
        for (int l = 0; l < n; l++)
        {
            probe[l] = LinearProbe.TestAccuracy(trainReadout[l].Pooled, trainLabels, testReadout[l].Pooled, testLabels, 10, b.ProbeSteps, ctx.Seed);
            selectivity[l] = ClassSelectivity.Of(testReadout[l].ChannelMean, testLabels, 10);
            ctx.Log.WriteLine(Invariant($"  layer {l + 1}: probe {probe[l]:0.000}, selectivity {ClassSelectivity.Mean(selectivity[l]):0.00}"));
        }
        var meanSi = selectivity.Select(ClassSelectivity.Mean).ToArray();
        var shares = EdgeFilters.Shares(conv1.Weight.Data, conv1.OutChannels, 1, conv1.KernelSize.H);
        double edgeTrained = EdgeFilters.EdgeLikeShare(shares);
        var rf = layers.Select(i => fields[i].Size).ToArray();
        var (verdict, agrees, verdictMetrics) = FeatureHierarchyVerdict.Judge(new HierarchyMeasurements(
            rf, probe, meanSi, edgeTrained, edgeInit, test.Height, test.Count,
            ClassSelectivity.MeanBreadth(testReadout[^1].ChannelMean, testLabels, 10), RelativeChange(initialFilters, conv1.Weight.Data)));

        var metrics = new Dictionary<string, object?>
        {
            ["model"] = "vgg-6: " + string.Join("-", b.Widths.Select(w => $"{w}x2")), ["train_steps"] = b.Steps, ["batch_size"] = b.BatchSize,
            ["cnn_test_accuracy"] = cnnAccuracy, ["final_loss"] = LabTraining.Tail(losses, 10), ["receptive_field"] = rf,
            ["probe_features"] = testReadout.Select(r => r.Channels * LayerReadout.Grid * LayerReadout.Grid).ToArray(),
            ["probe_test_accuracy"] = probe, ["mean_selectivity"] = meanSi,
            ["selectivity_per_channel"] = selectivity.Select(s => s.Select(u => u.Index).ToArray()).ToArray(),
            ["dead_channels"] = selectivity.Select(s => s.Count(u => double.IsNaN(u.Index))).ToArray(),
            ["edge_like_share_trained"] = edgeTrained, ["edge_like_share_init"] = edgeInit,
            ["first_layer_relative_change"] = RelativeChange(initialFilters, conv1.Weight.Data),
            ["first_layer_oriented_energy"] = shares.Select(s => s.Oriented).ToArray(),
            ["first_layer_dc_energy"] = shares.Select(s => s.Dc).ToArray(), ["probe_train_images"] = probeTrain.Count, ["test_images"] = test.Count,
        };
        foreach (var (k, v) in verdictMetrics) metrics[k] = v;
        var figures = Figures(ctx, b, model, layers, fields, test, testReadout, selectivity, probe, meanSi, losses, edgeTrained, edgeInit);
        var table = new LabTable("Per layer", ["layer", "output", "receptive field", "probe features", "probe test accuracy",
                "mean selectivity", "dead channels"],
            Enumerable.Range(0, n).Select(l => new[]
            {
                Invariant($"{l + 1}"), Invariant($"{testReadout[l].Channels} ch"), Invariant($"{rf[l]}×{rf[l]}"),
                Invariant($"{testReadout[l].Channels * LayerReadout.Grid * LayerReadout.Grid}"), Invariant($"{probe[l] * 100:0.0}%"),
                meanSi[l].ToString("0.000", CultureInfo.InvariantCulture), Invariant($"{selectivity[l].Count(u => double.IsNaN(u.Index))}"),
            }).ToList());
        return new ExperimentResult { Claim = Claim, Verdict = verdict, Agrees = agrees, Metrics = metrics, Figures = figures, Tables = [table] };
    }

    /// <summary>‖w − w₀‖ / ‖w₀‖.</summary>
    private static double RelativeChange(float[] w0, ReadOnlySpan<float> w)
    {
        double d = 0, n = 0;
        for (int i = 0; i < w0.Length; i++) { d += (w[i] - w0[i]) * (double)(w[i] - w0[i]); n += (double)w0[i] * w0[i]; }
        return n == 0 ? double.NaN : Math.Sqrt(d / n);
    }

    private static List<Figure> Figures(LabContext ctx, FeatureHierarchyBudget b, Sequential model, int[] layers, ReceptiveField[] fields,
        Data.ImageDataset test, LayerReadout[] readout, (double Index, int PreferredClass)[][] selectivity, double[] probe, double[] meanSi,
        double[] losses, double edgeTrained, double edgeInit)
    {
        var figures = new List<Figure>();
        var depth = Enumerable.Range(1, layers.Length).Select(d => (double)d).ToArray();
        figures.Add(Figure.Of(LinePlots.Curves("Linear probe accuracy and class selectivity by depth", "conv layer", "value",
            [("probe test accuracy", depth, probe), ("mean class-selectivity index", depth, meanSi)], ctx.FigurePath("curves"), markers: true),
            "Test accuracy of a linear probe on each layer's 4×4-pooled features (Alain & Bengio 2016) and the mean class-selectivity "
            + "index of its channels (Morcos et al. 2018), from the first conv layer to the last."));
        var filters = FeatureMapRenderer.Filters(model, ctx.FigurePath("filters"))!;
        figures.Add(Figure.Of(new FigureFiles(filters.Png, filters.Svg), Invariant($"The first layer's 3×3 filters after training: ")
            + Invariant($"{edgeTrained * 100:0}% edge-like (more than half their energy in oriented gradient or bar terms), ")
            + Invariant($"{edgeInit * 100:0}% at init.")));
        // The most selective channels of each layer: the ones whose pictures have the most to say.
        var shown = layers.Select((_, l) => Enumerable.Range(0, readout[l].Channels).Where(c => double.IsFinite(selectivity[l][c].Index))
            .OrderByDescending(c => selectivity[l][c].Index).Take(b.ShownChannels).ToArray()).ToArray();
        var (images, _) = LabTraining.FirstBatch(test, test.Count);
        int size = test.Height;
        for (int l = 0; l < layers.Length; l++)
        {
            var field = fields[layers[l]];
            int side = Math.Min(field.Size, size);
            var tiles = new float[]?[shown[l].Length, 4];
            for (int r = 0; r < shown[l].Length; r++)
            {
                var top = readout[l].Top[shown[l][r]];
                for (int k = 0; k < top.Count; k++)
                {
                    var (y0, x0, s) = field.Window(top[k].Y, top[k].X, size);
                    tiles[r, k] = ImageMosaic.Crop(images.Data.Slice(top[k].Image * size * size, size * size), size, y0, x0, s);
                }
            }
            if (shown[l].Length == 0) continue;
            string rows = string.Join(", ", shown[l].Select(c => $"ch {c} ({test.ClassNames[selectivity[l][c].PreferredClass]})"));
            figures.Add(Figure.Of(FeatureMaps.Image(Invariant($"Layer {l + 1}: top-4 test patches ({side}×{side} px) of 4 channels"),
                ImageMosaic.Build(tiles, side), ctx.FigurePath(Invariant($"patches-layer{l + 1}")), colorbarLabel: "stretched pixel value"),
                Invariant($"Layer {l + 1} (receptive field {field.Size}×{field.Size}): each row is one channel, its four most exciting test ")
                + $"patches left to right; rows, top to bottom: {rows} (the class in brackets is the channel's preferred one)."));
        }
        var units = layers.SelectMany((m, l) => shown[l].Select(c => (m, c))).ToList();
        var maxima = ActivationMaximization.Run(model, units, b.MaximizationSteps, ctx.Seed + 1, size);
        int cols = shown.Max(s => s.Length);
        var grid = new float[]?[layers.Length, cols];
        int u = 0;
        for (int l = 0; l < layers.Length; l++) for (int c = 0; c < shown[l].Length; c++) grid[l, c] = maxima[u++];
        figures.Add(Figure.Of(FeatureMaps.Image("Activation maximization: rows are layers 1 (top) to 6", ImageMosaic.Build(grid, size),
            ctx.FigurePath("activation-maximization"), colorbarLabel: "stretched pixel value"),
            "The input that most excites each shown channel (the rows' channels of the patch figures, in order), by "
            + Invariant($"{b.MaximizationSteps} ")
            + "steps of gradient ascent from noise with jitter, L2 decay and clipping (Erhan et al. 2009, Olah et al. 2017); "
            + "each picture is stretched to its own range."));
        figures.Add(Figure.Of(LinePlots.Curves("Training loss of the 6-conv network", "step", "cross-entropy",
            [("loss", Enumerable.Range(1, losses.Length).Select(i => (double)i).ToArray(), losses)], ctx.FigurePath("training")),
            "The training behind these measurements."));
        return figures;
    }
}
