using CnnLab.Data;
using System.Globalization;
using CnnLab.Nn;
using CnnLab.Tensors;
using CnnLab.Viz;

namespace CnnLab.Lab;

/// <summary>The output of one top-level layer of a CNN whose output is a 4-D feature map [N, C, H, W].</summary>
/// <param name="Index">Position of the layer in the <see cref="Sequential"/>.</param>
/// <param name="Label">Short name, e.g. "1 ReLU" or "0 Conv2d 1→32 3x3".</param>
/// <param name="Module">The layer.</param>
/// <param name="Output">A copy of its output [N, C, H, W].</param>
public sealed record CnnStage(int Index, string Label, Module Module, Tensor Output)
{
    public int Channels => Output.Shape[1];
    public int Height => Output.Shape[2];
    public int Width => Output.Shape[3];

    /// <summary>The maps of sample <paramref name="n"/> as [C·H·W] values.</summary>
    public float[] Sample(int n) => Output.Data.Slice(n * Channels * Height * Width, Channels * Height * Width).ToArray();
}

/// <summary>Statistics of one stage over a batch.</summary>
/// <param name="Label">The stage.</param>
/// <param name="Shape">"C×H×W".</param>
/// <param name="Sparsity">Fraction of exact zeros.</param>
/// <param name="MeanActivation">Mean value.</param>
/// <param name="DeadMaps">Channels that are zero everywhere on every image of the batch.</param>
/// <param name="DeadPerImage">Mean over images of the fraction of channels that are all zero on that image.</param>
public sealed record StageStats(string Label, string Shape, double Sparsity, double MeanActivation, int[] DeadMaps, double DeadPerImage);

/// <summary>One output pixel of a convolution, computed by hand from the actual weights, and what the next layers do with it.</summary>
/// <param name="Table">Every tap (input value, weight, product) and the sum, bias, ReLU and pooling rows.</param>
/// <param name="Lines">The same as text: input window, kernel, products as matrices, then the chain.</param>
/// <param name="HandSum">Σ products + bias, computed here in double precision.</param>
/// <param name="ModelOutput">The conv layer's own output at that pixel.</param>
public sealed record ConvArithmetic(LabTable Table, IReadOnlyList<string> Lines, double HandSum, double ModelOutput);

/// <summary>
/// Feature maps of every conv/ReLU/pool stage of a <see cref="Sequential"/> CNN (captured with forward
/// hooks), their statistics, their pictures (Zeiler &amp; Fergus 2014, arXiv:1311.2901), and the
/// arithmetic of one convolution output pixel. Shared by the <c>feature-maps</c> experiment and
/// <c>cnnlab visualize</c>.
/// </summary>
/// <remarks>PyTorch: none (in Python: <c>register_forward_hook</c> on each layer plus matplotlib).</remarks>
public static class FeatureMapRenderer
{
    /// <summary>
    /// Runs <paramref name="model"/> on <paramref name="x"/> in eval mode without gradients and returns a copy of
    /// every top-level layer output that is a 4-D feature map (the convolutional part, up to Flatten).
    /// The model's training mode is restored afterwards.
    /// </summary>
    public static IReadOnlyList<CnnStage> Capture(Sequential model, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(x);
        bool wasTraining = model.Training;
        var outputs = new Tensor?[model.Count];
        var hooks = new List<IDisposable>();
        for (int i = 0; i < model.Count; i++)
        {
            int k = i;
            hooks.Add(model[i].RegisterForwardHook((Module _, Tensor _, Tensor o) => { if (o.Rank == 4) outputs[k] = o.Clone(); }));
        }
        try
        {
            model.Eval();
            using (Autograd.NoGrad()) model.Forward(x);
        }
        finally
        {
            foreach (var h in hooks) h.Dispose();
            model.Train(wasTraining);
        }
        var stages = new List<CnnStage>();
        for (int i = 0; i < model.Count; i++)
        {
            if (outputs[i] is not Tensor o) break;   // the convolutional part ends at the first non-4-D output
            stages.Add(new CnnStage(i, Describe(i, model[i]), model[i], o));
        }
        return stages;
    }

    /// <summary>A short label: "0 Conv2d 1→32 3x3", "1 ReLU", "2 MaxPool2d 2".</summary>
    public static string Describe(int index, Module m) => index.ToString(CultureInfo.InvariantCulture) + " " + m switch
    {
        Conv2d c => $"Conv2d {c.InChannels}→{c.OutChannels} {c.KernelSize.H}x{c.KernelSize.W}{(c.Stride.H > 1 ? $" stride {c.Stride.H}" : "")}",
        MaxPool2d p => $"MaxPool2d {p.KernelSize.H}",
        AvgPool2d p => $"AvgPool2d {p.KernelSize.H}",
        _ => m.GetType().Name,
    };

    /// <summary>Sparsity, mean activation and dead maps of a stage over its whole batch.</summary>
    public static StageStats Stats(CnnStage stage)
    {
        ArgumentNullException.ThrowIfNull(stage);
        int n = stage.Output.Shape[0], c = stage.Channels, hw = stage.Height * stage.Width;
        var data = stage.Output.Data;
        long zeros = 0;
        double sum = 0;
        var alive = new bool[c];
        long deadPairs = 0;
        for (int s = 0; s < n; s++)
            for (int ch = 0; ch < c; ch++)
            {
                var map = data.Slice((s * c + ch) * hw, hw);
                bool any = false;
                foreach (float v in map)
                {
                    if (v == 0) zeros++; else any = true;
                    sum += v;
                }
                if (any) alive[ch] = true; else deadPairs++;
            }
        long total = (long)n * c * hw;
        var dead = Enumerable.Range(0, c).Where(ch => !alive[ch]).ToArray();
        return new StageStats(stage.Label, $"{c}×{stage.Height}×{stage.Width}", (double)zeros / total, sum / total, dead,
            (double)deadPairs / ((long)n * c));
    }

    /// <summary>
    /// Draws the first layer's filters when the model starts with a <see cref="Conv2d"/> (null otherwise); filters over three
    /// input channels as colour patches (<see cref="ColorImages.Filters"/>).
    /// </summary>
    public static FeatureMapFigure? Filters(Sequential model, string pathWithoutExtension)
    {
        if (model.Layers.FirstOrDefault(l => l is Conv2d) is not Conv2d conv) return null;
        var w = conv.Weight;
        if (conv.InChannels == 3 && conv.Groups == 1)
        {
            string title = $"First-layer filters as colour patches ({conv.OutChannels} of 3x{conv.KernelSize.H}x{conv.KernelSize.W})";
            var files = ColorImages.Filters(title, w.ToArray(), conv.OutChannels, conv.KernelSize.H, conv.KernelSize.W, pathWithoutExtension);
            return new FeatureMapFigure(files.Png, files.Svg, conv.OutChannels, Math.Min(conv.OutChannels, 64), [], -1, 1);
        }
        return FeatureMaps.Filters($"First-layer filters ({conv.OutChannels} of {conv.InChannels}x{conv.KernelSize.H}x{conv.KernelSize.W})",
            w.ToArray(), w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3], pathWithoutExtension);
    }

    /// <summary>
    /// Draws the input image and one grid per stage for sample <paramref name="sample"/> of the captured batch;
    /// files are <paramref name="prefix"/>-input, <paramref name="prefix"/>-stage-K in <paramref name="dir"/>.
    /// Returns (stage label or "input", files, dead maps of that stage on this image). An RGB input is drawn in colour when
    /// <paramref name="normalization"/> says how to undo its normalization.
    /// </summary>
    public static List<(string Stage, FigureFiles Files, int[] DeadMaps)> Render(
        IReadOnlyList<CnnStage> stages, Tensor x, int sample, string imageTitle, string dir, string prefix, int maxMaps = 64,
        Normalize? normalization = null)
    {
        ArgumentNullException.ThrowIfNull(stages);
        ArgumentNullException.ThrowIfNull(x);
        Directory.CreateDirectory(dir);
        var figures = new List<(string, FigureFiles, int[])>();
        int h = x.Shape[2], w = x.Shape[3];
        string inputPath = Path.Combine(dir, $"{prefix}-input");
        if (x.Shape[1] == 3 && normalization is not null)
        {
            // An RGB input in its own colours: the normalization undone, x·std + mean.
            var rgb = x.Data.Slice(sample * 3 * h * w, 3 * h * w).ToArray();
            for (int k = 0; k < rgb.Length; k++)
            {
                int c = normalization.Channels == 1 ? 0 : k / (h * w);
                rgb[k] = rgb[k] * normalization.Stds[c] + normalization.Means[c];
            }
            figures.Add(("input", ColorImages.Image($"Input: {imageTitle}", rgb, h, w, inputPath), []));
        }
        else
        {
            var pixels = new float[h, w];
            int offset = sample * x.Shape[1] * h * w;   // the first input channel
            for (int i = 0; i < h; i++) for (int j = 0; j < w; j++) pixels[i, j] = x.Data[offset + i * w + j];
            figures.Add(("input", FeatureMaps.Image($"Input: {imageTitle}", pixels, inputPath, "normalized pixel"), []));
        }
        foreach (var s in stages)
        {
            var f = FeatureMaps.Grid($"{s.Label} ({imageTitle})", s.Sample(sample), s.Channels, s.Height, s.Width,
                Path.Combine(dir, $"{prefix}-stage-{s.Index}"), maxMaps, s.Module is Conv2d ? "pre-activation" : "activation");
            figures.Add((s.Label, new FigureFiles(f.Png, f.Svg), f.DeadMaps));
        }
        return figures;
    }

    /// <summary>
    /// The arithmetic of one output pixel of the first convolution for sample <paramref name="sample"/>: the
    /// input window, the kernel, their products, the sum, the bias, and what every following stage up to
    /// the next convolution makes of it (ReLU, pooling window and result). The pixel is the one that wins
    /// the strongest output of the first pooling stage (or the strongest activation when there is none).
    /// </summary>
    public static ConvArithmetic Arithmetic(IReadOnlyList<CnnStage> stages, Tensor x, int sample = 0)
    {
        ArgumentNullException.ThrowIfNull(stages);
        int convAt = -1;
        for (int k = 0; k < stages.Count; k++) if (stages[k].Module is Conv2d) { convAt = k; break; }
        if (convAt < 0) throw new ArgumentException("the model has no Conv2d layer in its convolutional part");
        var conv = (Conv2d)stages[convAt].Module;
        var input = convAt == 0 ? x : stages[convAt - 1].Output;
        int end = convAt + 1;
        while (end < stages.Count && stages[end].Module is not Conv2d) end++;
        var after = stages.Skip(convAt + 1).Take(end - convAt - 1).ToList();

        // Choose the pixel: the argmax of the first pooling stage, traced back into its window.
        var convStage = stages[convAt];
        int ch, row, col;
        int poolAt = after.FindIndex(s => s.Module is MaxPool2d or AvgPool2d);
        if (poolAt >= 0)
        {
            var pool = after[poolAt];
            var (pc, pr, pq) = ArgMax(pool, sample);
            var (k, st) = PoolGeometry(pool.Module);
            var before = poolAt == 0 ? convStage : after[poolAt - 1];
            (ch, row, col) = (pc, pr * st, pq * st);
            float best = float.NegativeInfinity;
            for (int i = 0; i < k; i++)
                for (int j = 0; j < k; j++)
                {
                    int r = pr * st + i, q = pq * st + j;
                    if (r >= before.Height || q >= before.Width) continue;
                    float v = At(before, sample, pc, r, q);
                    if (v > best) { best = v; (row, col) = (r, q); }
                }
        }
        else (ch, row, col) = ArgMax(after.Count > 0 ? after[^1] : convStage, sample);
        return Compute(stages, x, convAt, ch, row, col, sample);
    }

    /// <summary>
    /// The arithmetic of the output pixel (<paramref name="channel"/>, <paramref name="row"/>, <paramref name="col"/>) of the
    /// convolution at position <paramref name="layer"/> of the model (<see cref="CnnStage.Index"/>), any conv layer, with what
    /// the stages after it up to the next convolution make of it. Indices out of range are an <see cref="ArgumentException"/>.
    /// </summary>
    public static ConvArithmetic Arithmetic(IReadOnlyList<CnnStage> stages, Tensor x, int layer, int channel, int row, int col, int sample = 0)
    {
        ArgumentNullException.ThrowIfNull(stages);
        int at = -1;
        for (int k = 0; k < stages.Count; k++) if (stages[k].Index == layer) at = k;
        var convs = stages.Where(s => s.Module is Conv2d).Select(s => s.Index.ToString(CultureInfo.InvariantCulture)).ToList();
        if (at < 0 || stages[at].Module is not Conv2d)
            throw new ArgumentException($"layer {layer} is not a conv layer of the model: expected one of {string.Join(", ", convs)}");
        var s = stages[at];
        if (channel < 0 || channel >= s.Channels)
            throw new ArgumentException($"channel {channel} is out of range: layer {s.Label} has channels 0..{s.Channels - 1}");
        if (row < 0 || row >= s.Height || col < 0 || col >= s.Width)
            throw new ArgumentException($"pixel ({row}, {col}) is out of range: layer {s.Label} outputs {s.Height}x{s.Width}");
        if (sample < 0 || sample >= s.Output.Shape[0])
            throw new ArgumentException($"sample {sample} is out of range: the batch has {s.Output.Shape[0]}");
        return Compute(stages, x, at, channel, row, col, sample);
    }

    private static ConvArithmetic Compute(IReadOnlyList<CnnStage> stages, Tensor x, int convAt, int ch, int row, int col, int sample)
    {
        var conv = (Conv2d)stages[convAt].Module;
        var input = convAt == 0 ? x : stages[convAt - 1].Output;
        int end = convAt + 1;
        while (end < stages.Count && stages[end].Module is not Conv2d) end++;
        var after = stages.Skip(convAt + 1).Take(end - convAt - 1).ToList();
        var convStage = stages[convAt];

        var rows = new List<string[]>();
        var lines = new List<string>();
        int inPerGroup = conv.Weight.Shape[1], kh = conv.KernelSize.H, kw = conv.KernelSize.W;
        int group = ch / (conv.OutChannels / conv.Groups);
        int inH = input.Shape[2], inW = input.Shape[3], inC = input.Shape[1];
        double sum = 0;
        lines.Add($"Output pixel: channel {ch}, row {row}, column {col} of layer {convStage.Label} (sample {sample}).");
        for (int ci = 0; ci < inPerGroup; ci++)
        {
            int c = group * inPerGroup + ci;
            var window = new string[kh];
            var kernel = new string[kh];
            var products = new string[kh];
            for (int i = 0; i < kh; i++)
            {
                var wl = new List<string>();
                var kl = new List<string>();
                var pl = new List<string>();
                for (int j = 0; j < kw; j++)
                {
                    int r = row * conv.Stride.H - conv.Padding.H + i * conv.Dilation.H;
                    int q = col * conv.Stride.W - conv.Padding.W + j * conv.Dilation.W;
                    bool pad = r < 0 || r >= inH || q < 0 || q >= inW;
                    float xv = pad ? 0f : input.Data[((sample * inC + c) * inH + r) * inW + q];
                    float wv = conv.Weight.Data[((ch * inPerGroup + ci) * kh + i) * kw + j];
                    double p = (double)xv * wv;
                    sum += p;
                    rows.Add([$"x[{c},{r},{q}]·w[{ch},{ci},{i},{j}]", pad ? "0 (padding)" : F(xv), F(wv), F(p)]);
                    wl.Add(F(xv)); kl.Add(F(wv)); pl.Add(F(p));
                }
                window[i] = string.Join("  ", wl.Select(s => s.PadLeft(8)));
                kernel[i] = string.Join("  ", kl.Select(s => s.PadLeft(8)));
                products[i] = string.Join("  ", pl.Select(s => s.PadLeft(8)));
            }
            string inName = inPerGroup == 1 ? "" : $" (input channel {c})";
            lines.Add($"input window{inName}:"); lines.AddRange(window.Select(s => "  " + s));
            lines.Add($"kernel w[{ch},{ci}]:"); lines.AddRange(kernel.Select(s => "  " + s));
            lines.Add("products x·w:"); lines.AddRange(products.Select(s => "  " + s));
        }
        double bias = conv.Bias is null ? 0 : conv.Bias.Data[ch];
        double hand = sum + bias;
        float model = At(convStage, sample, ch, row, col);
        rows.Add(["Σ products", "", "", F(sum)]);
        rows.Add([$"+ bias b[{ch}]", "", "", F(bias)]);
        rows.Add(["= conv output (by hand)", "", "", F(hand)]);
        rows.Add(["conv output (the layer's own)", "", "", F(model)]);
        lines.Add(string.Create(CultureInfo.InvariantCulture,
            $"Σ products = {F(sum)}; + bias {F(bias)} = {F(hand)} (the layer computed {F(model)})"));

        // Follow the pixel through the next stages: elementwise ones keep its position, pooling takes a window.
        int r0 = row, q0 = col;
        var prev = convStage;
        foreach (var s in after)
        {
            if (s.Height == prev.Height && s.Width == prev.Width)
            {
                float v = At(s, sample, ch, r0, q0);
                rows.Add([$"{s.Label} at ({ch},{r0},{q0})", "", "", F(v)]);
                lines.Add($"{s.Label}: {F(v)}");
            }
            else
            {
                var (k, st) = PoolGeometry(s.Module);
                int pr = r0 / st, pq = q0 / st;
                var win = new List<string>();
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < k; j++)
                    {
                        int r = pr * st + i, q = pq * st + j;
                        if (r < prev.Height && q < prev.Width) win.Add(F(At(prev, sample, ch, r, q)));
                    }
                float v = At(s, sample, ch, Math.Min(pr, s.Height - 1), Math.Min(pq, s.Width - 1));
                string what = s.Module is MaxPool2d ? "max" : s.Module is AvgPool2d ? "mean" : "result";
                rows.Add([$"{s.Label}: window at ({ch},{pr * st},{pq * st})", string.Join(", ", win), $"{what} →", F(v)]);
                lines.Add($"{s.Label}: {what} of [{string.Join(", ", win)}] = {F(v)} at ({ch},{pr},{pq})");
                (r0, q0) = (pr, pq);
            }
            prev = s;
        }
        var table = new LabTable($"Convolution arithmetic of one output pixel (channel {ch}, row {row}, column {col}) from the actual weights",
            ["tap / step", "input value", "weight", "product / value"], rows);
        return new ConvArithmetic(table, lines, hand, model);
    }

    private static (int Kernel, int Stride) PoolGeometry(Module m) => m switch
    {
        MaxPool2d p => (p.KernelSize.H, p.Stride.H),
        AvgPool2d p => (p.KernelSize.H, p.Stride.H),
        _ => (2, 2),
    };

    private static float At(CnnStage s, int n, int c, int r, int q) =>
        s.Output.Data[((n * s.Channels + c) * s.Height + r) * s.Width + q];

    private static (int C, int R, int Q) ArgMax(CnnStage s, int n)
    {
        var map = s.Sample(n);
        int best = 0;
        for (int i = 1; i < map.Length; i++) if (map[i] > map[best]) best = i;
        int hw = s.Height * s.Width;
        return (best / hw, best % hw / s.Width, best % s.Width);
    }

    private static string F(double v) => v.ToString("0.0000", CultureInfo.InvariantCulture);
}
