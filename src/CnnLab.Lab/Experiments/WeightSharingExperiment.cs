using System.Globalization;
using CnnLab.Data;
using CnnLab.Nn;
using CnnLab.Tensors;
using CnnLab.Viz;

namespace CnnLab.Lab.Experiments;

/// <summary>
/// Weight sharing measured: parameters of a convolution against a fully connected layer with the same
/// input and output shapes, and translation equivariance conv(shift x) = shift(conv x) (exact away from
/// the borders for a stride-1 convolution), against a dense layer of the same shape (none), and how
/// max pooling turns it into approximate invariance (LeCun et al. 1998; Goodfellow et al. 2016, §9.2–9.3).
/// </summary>
public sealed class WeightSharingExperiment : Experiment
{
    private readonly int? _images;

    public WeightSharingExperiment() { }

    /// <summary>A smaller budget (tests): images compared.</summary>
    internal WeightSharingExperiment(int images) => _images = images;

    public override ExperimentInfo Info { get; } = new(
        Name: "weight-sharing",
        Title: "Weight sharing: parameters and translation equivariance",
        Topic: "CNNs",
        Order: 100,
        Claim: "Weight sharing: the same filter is used at all spatial locations — a huge reduction in parameters, "
            + "and it enables translation equivariance: \"If an object moves, its feature map moves the same way.\" "
            + "Pooling makes features robust to small shifts.");

    public override ExperimentResult Run(LabContext ctx)
    {
        int images = _images ?? (ctx.Quick ? 16 : 64);
        var metrics = new Dictionary<string, object?>();

        // 1. Parameters: the two conv layers of cnn-small against dense layers with the same in/out shapes.
        long conv1 = 32 * 1 * 9 + 32, dense1 = 784L * 32 * 28 * 28 + 32 * 28 * 28;
        long conv2 = 64 * 32 * 9 + 64, dense2 = 32L * 14 * 14 * 64 * 14 * 14 + 64 * 14 * 14;
        metrics["params_conv_1x28x28_to_32x28x28"] = conv1;
        metrics["params_dense_1x28x28_to_32x28x28"] = dense1;
        metrics["params_conv_32x14x14_to_64x14x14"] = conv2;
        metrics["params_dense_32x14x14_to_64x14x14"] = dense2;

        // 2. Equivariance on real images: conv(shift x) vs shift(conv x), on the interior.
        var (x, _) = LabTraining.FirstBatch(ctx.Data.Test, images);
        float fill = Normalize.FashionMnist.Apply(0);
        var conv = new Conv2d(1, 32, 3, padding: 1, generator: new Generator(ctx.Seed));
        var dense = new Linear(784, 32 * 28 * 28, generator: new Generator(ctx.Seed + 1));
        Tensor Conv(Tensor t) => conv.Forward(t);
        Tensor Dense(Tensor t) => dense.Forward(t.Reshape(t.Shape[0], 784)).Reshape(t.Shape[0], 32, 28, 28);
        Tensor Pool(Tensor t) => Functional.MaxPool2d(Functional.Relu(conv.Forward(t)), 2);
        Tensor ReluConv(Tensor t) => Functional.Relu(conv.Forward(t));
        var shifts = new[] { (1, 0), (0, 2), (3, 3) };
        var convErr = new double[shifts.Length];
        var denseErr = new double[shifts.Length];
        Tensor fx, dx;
        using (Autograd.NoGrad())
        {
            fx = Conv(x);
            dx = Dense(x);
            for (int s = 0; s < shifts.Length; s++)
            {
                var (sx, sy) = shifts[s];
                var xs = Shift(x, sx, sy, fill);
                int margin = Math.Max(Math.Abs(sx), Math.Abs(sy)) + 1;
                convErr[s] = InteriorMaxError(Conv(xs), Shift(fx, sx, sy, 0), margin) / MaxAbs(fx);
                denseErr[s] = InteriorMaxError(Dense(xs), Shift(dx, sx, sy, 0), margin) / MaxAbs(dx);
            }
        }
        metrics["shifts"] = shifts.Select(s => $"({s.Item1},{s.Item2})").ToArray();
        metrics["conv_equivariance_error"] = convErr;
        metrics["dense_equivariance_error"] = denseErr;

        // 3. Pooling: a shift by 1 pixel changes the max-pooled map much less than the map itself
        // (approximate invariance); a shift by 2 is exact equivariance on the coarse grid.
        double pooledChange1, mapChange1, pooledUnchanged1, mapUnchanged1, pooledEquiv2;
        using (Autograd.NoGrad())
        {
            var xs1 = Shift(x, 1, 0, fill);
            var xs2 = Shift(x, 2, 0, fill);
            var p = Pool(x);
            var p1 = Pool(xs1);
            var f = ReluConv(x);
            var f1 = ReluConv(xs1);
            pooledChange1 = InteriorRelChange(p1, p, 2, out pooledUnchanged1);
            mapChange1 = InteriorRelChange(f1, f, 3, out mapUnchanged1);
            pooledEquiv2 = InteriorMaxError(Pool(xs2), Shift(p, 1, 0, 0), 2) / MaxAbs(p);
        }
        metrics["pooled_relative_change_shift1"] = pooledChange1;
        metrics["unpooled_relative_change_shift1"] = mapChange1;
        metrics["pooled_fraction_unchanged_shift1"] = pooledUnchanged1;
        metrics["unpooled_fraction_unchanged_shift1"] = mapUnchanged1;
        metrics["pooled_equivariance_error_shift2"] = pooledEquiv2;

        // Figures.
        var figures = new List<Figure>
        {
            Figure.Of(BarCharts.Grouped("Parameters (log10): convolution vs a dense layer with the same input and output shapes",
                ["1×28×28 → 32×28×28", "32×14×14 → 64×14×14"],
                [("conv 3x3", [Math.Log10(conv1), Math.Log10(conv2)]), ("fully connected", [Math.Log10(dense1), Math.Log10(dense2)])],
                "log10(parameters)", ctx.FigurePath("parameters")),
                ParametersCaption(conv1, conv2, dense1, dense2)),
        };
        var (fsx, fsy) = shifts[2];
        var xs3 = Shift(x, fsx, fsy, fill);
        int ch = BusiestChannel(fx);
        Tensor cs, ds;
        using (Autograd.NoGrad()) { cs = Conv(xs3); ds = Dense(xs3); }
        float[][,] Maps(params (Tensor T, int C)[] ts) => ts.Select(t => Map(t.T, 0, t.C)).ToArray();
        var inputs = FeatureMaps.Grid($"Input and input shifted by ({fsx},{fsy})", Maps((x, 0), (xs3, 0)), ctx.FigurePath("inputs"),
            colorbarLabel: "normalized pixel", labels: ["image", $"shifted by ({fsx},{fsy})"]);
        figures.Add(Figure.Of(new FigureFiles(inputs.Png, inputs.Svg),
            $"Test image 0 and the same image moved {fsx} pixels right and {fsy} down (filled with background)."));
        var convMaps = FeatureMaps.Grid($"Conv feature map {ch} of the image and of the shifted image", Maps((fx, ch), (cs, ch)),
            ctx.FigurePath("conv-maps"), colorbarLabel: "conv output", labels: [$"conv ch {ch}: image", $"conv ch {ch}: shifted"]);
        figures.Add(Figure.Of(new FigureFiles(convMaps.Png, convMaps.Svg),
            "The convolution's map moves with the image: the same picture, shifted (equivariance)."));
        var denseMaps = FeatureMaps.Grid("Dense layer 'map' 0 of the image and of the shifted image", Maps((dx, 0), (ds, 0)),
            ctx.FigurePath("dense-maps"), colorbarLabel: "dense output", labels: ["dense: image", "dense: shifted"]);
        figures.Add(Figure.Of(new FigureFiles(denseMaps.Png, denseMaps.Svg),
            "A fully connected layer of the same output shape: its output has no spatial relation to the input and does not move with it."));

        bool exact = convErr.All(e => e == 0);
        bool agrees = convErr.All(e => e < 1e-5) && denseErr.All(e => e > 0.1) && pooledChange1 < mapChange1;
        string verdict =
            ParametersSentence(conv1, dense1, conv2, dense2)
            + EquivarianceSentence(x.Shape[0], shifts, convErr, exact, denseErr)
            + PoolingSentence(pooledChange1, pooledUnchanged1, mapChange1, mapUnchanged1, pooledEquiv2)
            + (agrees
                ? "This agrees with the notes: sharing cuts parameters by orders of magnitude and the feature map moves with the object; "
                    + "pooling adds only partial robustness to small shifts."
                : "This does not fully agree with the notes: see the numbers above.");
        return new ExperimentResult { Claim = Claim, Verdict = verdict, Agrees = agrees, Metrics = metrics, Figures = figures };
    }

    /// <summary>Moves every map of [N, C, H, W] by (dx right, dy down), filling the uncovered border with <paramref name="fill"/>.</summary>
    internal static Tensor Shift(Tensor t, int dx, int dy, float fill)
    {
        int n = t.Shape[0], c = t.Shape[1], h = t.Shape[2], w = t.Shape[3];
        var o = Tensor.Full(fill, n, c, h, w);
        var src = t.Data; var dst = o.Data;
        for (int m = 0; m < n * c; m++)
            for (int r = 0; r < h; r++)
            {
                int sr = r - dy;
                if (sr < 0 || sr >= h) continue;
                for (int q = 0; q < w; q++)
                {
                    int sq = q - dx;
                    if (sq >= 0 && sq < w) dst[(m * h + r) * w + q] = src[(m * h + sr) * w + sq];
                }
            }
        return o;
    }

    /// <summary>max |a − b| over positions at least <paramref name="margin"/> away from every border.</summary>
    internal static double InteriorMaxError(Tensor a, Tensor b, int margin)
    {
        int nc = a.Shape[0] * a.Shape[1], h = a.Shape[2], w = a.Shape[3];
        double m = 0;
        for (int k = 0; k < nc; k++)
            for (int r = margin; r < h - margin; r++)
                for (int q = margin; q < w - margin; q++)
                {
                    int i = (k * h + r) * w + q;
                    m = Math.Max(m, Math.Abs((double)a.Data[i] - b.Data[i]));
                }
        return m;
    }

    private static double InteriorRelChange(Tensor a, Tensor b, int margin, out double unchanged)
    {
        int nc = a.Shape[0] * a.Shape[1], h = a.Shape[2], w = a.Shape[3];
        double num = 0, den = 0;
        long same = 0, count = 0;
        for (int k = 0; k < nc; k++)
            for (int r = margin; r < h - margin; r++)
                for (int q = margin; q < w - margin; q++)
                {
                    int i = (k * h + r) * w + q;
                    double d = (double)a.Data[i] - b.Data[i];
                    num += d * d;
                    den += (double)b.Data[i] * b.Data[i];
                    if (b.Data[i] != 0) { count++; if (d == 0) same++; }
                }
        unchanged = count == 0 ? 0 : (double)same / count;
        return den == 0 ? 0 : Math.Sqrt(num / den);
    }

    private static double MaxAbs(Tensor t)
    {
        double m = 0;
        foreach (float v in t.Data) m = Math.Max(m, Math.Abs(v));
        return m == 0 ? 1 : m;
    }

    private static int BusiestChannel(Tensor t)
    {
        int c = t.Shape[1], hw = t.Shape[2] * t.Shape[3];
        int best = 0;
        double bestVar = -1;
        for (int ch = 0; ch < c; ch++)
        {
            double v = LabTraining.Std(t.Data.Slice(ch * hw, hw));
            if (v > bestVar) { bestVar = v; best = ch; }
        }
        return best;
    }

    private static float[,] Map(Tensor t, int n, int c)
    {
        int h = t.Shape[2], w = t.Shape[3], off = (n * t.Shape[1] + c) * h * w;
        var m = new float[h, w];
        for (int i = 0; i < h; i++) for (int j = 0; j < w; j++) m[i, j] = t.Data[off + i * w + j];
        return m;
    }

    private static string G(double v) => v == 0 ? "0" : v.ToString("0.##e0", CultureInfo.InvariantCulture);

    private static string ParametersCaption(long conv1, long conv2, long dense1, long dense2) =>
        string.Create(CultureInfo.InvariantCulture, $"The conv layers of cnn-small: {conv1:N0} and {conv2:N0} parameters; ")
        + string.Create(CultureInfo.InvariantCulture, $"dense layers with the same shapes: {dense1:N0} and {dense2:N0}.");

    private static string ParametersSentence(long conv1, long dense1, long conv2, long dense2) =>
        string.Create(CultureInfo.InvariantCulture,
            $"Parameters: a 3x3 conv from 1×28×28 to 32×28×28 has {conv1:N0}, a dense layer with the same shapes {dense1:N0} ")
        + string.Create(CultureInfo.InvariantCulture,
            $"({(double)dense1 / conv1:0.0e0}× more); for 32×14×14 → 64×14×14, {conv2:N0} vs {dense2:N0}. ");

    private static string EquivarianceSentence(int images, (int, int)[] shifts, double[] convErr, bool exact, double[] denseErr) =>
        string.Create(CultureInfo.InvariantCulture,
            $"Equivariance on {images} test images shifted by {string.Join(", ", shifts.Select(s => $"({s.Item1},{s.Item2})"))}: ")
        + "max |conv(shift x) − shift(conv x)| away from the borders is "
        + string.Create(CultureInfo.InvariantCulture,
            $"{string.Join(", ", convErr.Select(G))} of the map's range{(exact ? " — exactly zero" : "")}, ")
        + string.Create(CultureInfo.InvariantCulture,
            $"against {string.Join(", ", denseErr.Select(e => e.ToString("0.00", CultureInfo.InvariantCulture)))} ")
        + "for a random dense layer of the same output shape (no equivariance). ";

    private static string PoolingSentence(double pooledChange1, double pooledUnchanged1, double mapChange1, double mapUnchanged1,
        double pooledEquiv2) =>
        "Max pooling (2x2) makes it only approximately invariant: "
        + string.Create(CultureInfo.InvariantCulture, $"a 1-pixel shift changes the pooled map by {pooledChange1 * 100:0.0}% ")
        + string.Create(CultureInfo.InvariantCulture, $"(relative L2; {pooledUnchanged1 * 100:0.0}% of pooled values unchanged) ")
        + string.Create(CultureInfo.InvariantCulture,
            $"against {mapChange1 * 100:0.0}% for the unpooled ReLU map ({mapUnchanged1 * 100:0.0}% unchanged); ")
        + string.Create(CultureInfo.InvariantCulture, $"a 2-pixel shift is exact equivariance on the pooled grid (error {G(pooledEquiv2)}). ");
}
