using CnnLab.Data;
using CnnLab.Lab;
using CnnLab.Nn;
using CnnLab.Tensors;
using CnnLab.Training;

namespace CnnLab.Web;

/// <summary>One class of a prediction.</summary>
internal sealed record Guess(string Class, int Label, double Probability);

/// <summary>A picture of one stage: its label and the PNG's file name in the explanation's folder.</summary>
internal sealed record StagePicture(string Stage, string File, int[] DeadMaps);

/// <summary>What the Explainer shows for one image.</summary>
internal sealed record Explanation(string Id, IReadOnlyList<Guess> Top, IReadOnlyList<StagePicture> Stages, IReadOnlyList<string>? Arithmetic)
{
    /// <summary>The captured feature maps and the model's input, kept for the arithmetic of any pixel the page clicks.</summary>
    public IReadOnlyList<CnnStage> Captured { get; init; } = [];

    public Tensor? Input { get; init; }

    /// <summary>The conv layers a page may ask about: position in the model, label, channels, height, width.</summary>
    public IEnumerable<object> ConvLayers => Captured.Where(s => s.Module is Conv2d)
        .Select(s => new { layer = s.Index, stage = s.Label, channels = s.Channels, height = s.Height, width = s.Width });

    /// <summary>One channel of one stage's map, row by row (for the page to draw and click on).</summary>
    public float[] Map(int layer, int channel)
    {
        var stage = Captured.FirstOrDefault(s => s.Index == layer)
            ?? throw new ArgumentException($"layer {layer} has no feature map: expected one of {string.Join(", ", Captured.Select(s => s.Index))}");
        if (channel < 0 || channel >= stage.Channels)
            throw new ArgumentException($"channel {channel} is out of range: layer {stage.Label} has channels 0..{stage.Channels - 1}");
        int hw = stage.Height * stage.Width;
        return stage.Sample(0).AsSpan(channel * hw, hw).ToArray();
    }

    /// <summary>The arithmetic of one output pixel of any conv layer, as <see cref="FeatureMapRenderer"/> computes it.</summary>
    public ConvArithmetic PixelArithmetic(int layer, int channel, int row, int col) =>
        FeatureMapRenderer.Arithmetic(Captured, Input ?? throw new ArgumentException("this model has no feature maps"), layer, channel, row, col);
}

/// <summary>
/// A run's checkpoint applied to one uploaded or drawn image, as <c>cnnlab predict</c> and <c>cnnlab visualize</c> do: the
/// image decoded within the upload's pixel budget and prepared as the training images were, the top-k classes, the
/// feature maps of every stage (<see cref="FeatureMapRenderer"/>) and the arithmetic of one output pixel.
/// </summary>
internal static class Explainer
{
    public static Explanation Run(string runDir, byte[] image, int top, bool invert, long maxPixels, string outDir, string id)
    {
        if (top is < 1 or > 1000) throw new ArgumentException($"--top must be between 1 and 1000, got {top}");
        var trained = TrainedModel.Load(runDir).RequireFinite();
        var (model, config) = (trained.Model, trained.Config);

        var header = ImageDecoder.ReadHeader(image, "the uploaded image");
        if ((long)header.Width * header.Height > maxPixels)
            throw new ArgumentException($"the uploaded image has {header.Width}x{header.Height} pixels, more than the server's {maxPixels:N0}");
        var prep = config.Preprocessing;
        var pixels = prep.Apply(ImageDecoder.Decode(image, "the uploaded image", prep.Channels));
        if (invert) for (int j = 0; j < pixels.Length; j++) pixels[j] = (byte)(255 - pixels[j]);
        var x = trained.Input(pixels);

        model.Eval();
        float[] probs;
        using (Autograd.NoGrad()) probs = Functional.Softmax(model.Forward(x), 1).ToArray();
        var names = config.Classes;
        var best = probs.Select((p, c) => new Guess(c < names.Count ? names[c] : c.ToString(System.Globalization.CultureInfo.InvariantCulture),
            c, p)).OrderByDescending(g => g.Probability).Take(top).ToList();

        var pictures = new List<StagePicture>();
        IReadOnlyList<string>? arithmetic = null;
        IReadOnlyList<CnnStage> stages = [];
        if (model is Sequential sequential)
        {
            stages = FeatureMapRenderer.Capture(sequential, x);
            foreach (var (stage, files, dead) in FeatureMapRenderer.Render(stages, x, 0, "your image", outDir, "map", 32, config.Normalization))
                pictures.Add(new StagePicture(stage, Path.GetFileName(files.Png), dead));
            if (stages.Any(s => s.Module is Conv2d)) arithmetic = FeatureMapRenderer.Arithmetic(stages, x).Lines;
        }
        return new Explanation(id, best, pictures, arithmetic) { Captured = stages, Input = x };
    }
}
