using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using CnnLab.Data;
using CnnLab.Nn;
using CnnLab.Tensors;
using CnnLab.Training;
using CnnLab.Cli.Support;

namespace CnnLab.Cli.Commands;

/// <summary>
/// <c>cnnlab predict --checkpoint DIR IMAGE</c> (any PNG, JPEG, BMP, GIF or TGA of any size) or <c>--index N</c> (a test
/// image): the top-k classes with probabilities, the image prepared as the model's training images were.
/// </summary>
public static class PredictCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "a checkpoint folder written by 'cnnlab train'", Required = true };
        var index = new Option<int?>("--index") { Description = "classify test image N of the data set" };
        var image = new Argument<string?>("image")
        {
            Description = "an image file (PNG, JPEG, BMP, GIF, TGA; any size or mode), prepared as the model's training images were",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var top = new Option<int>("--top") { Description = "how many classes to list", DefaultValueFactory = _ => 3 };
        var json = new Option<bool>("--json") { Description = "print one JSON object: input, true_class, top [{class, label, probability}]" };
        var invert = new Option<string>("--invert")
        {
            Description = "invert grey levels: auto (for models trained on IDX sets, when the border is light: Fashion-MNIST and MNIST "
                + "show bright objects on black), on or off",
            DefaultValueFactory = _ => "auto",
        };
        var data = new DataOptions(preprocessing: false);
        var command = new Command("predict", "Classify one image with a trained model: the top classes with probabilities.")
        {
            checkpoint, index, image, top, json, invert,
        };
        foreach (var option in data.All) command.Options.Add(option);
        command.SetAction(p => CliErrors.Guard(stderr, () =>
        {
            string dir = p.GetValue(checkpoint)!;
            var trained = ModelArguments.Load(dir, null, null);
            var (net, config) = (trained.Model, trained.Config);
            string? path = p.GetValue(image);
            int? idx = p.GetValue(index);
            if ((path is null) == (idx is null)) throw new UsageException("give either an IMAGE file or --index N");
            int k = p.GetValue(top);
            if (k < 1) throw new UsageException($"--top must be at least 1, got {k}");
            var log = p.GetValue(json) ? stderr : stdout;
            var names = config.Classes;
            Tensor x;
            string what;
            int? truth = null;
            if (idx is int i)
            {
                var (_, split) = data.Load(p, config.DataOptions, log);
                Trainer.WithData(config, split);
                if (i < 0 || i >= split.Test.Count) throw new UsageException($"--index must be between 0 and {split.Test.Count - 1}, got {i}");
                x = trained.Input(split.Test.ImageBytes(i));
                truth = split.Test.Label(i);
                what = $"test image {i}";
            }
            else
            {
                if (!File.Exists(path)) throw new UsageException($"image file '{path}' does not exist");
                var prep = config.Preprocessing;
                var pixels = prep.Apply(ImageDecoder.Decode(path!, prep.Channels));
                bool inverted = Invert(p.GetValue(invert)!, config, pixels, prep);
                if (inverted) for (int j = 0; j < pixels.Length; j++) pixels[j] = (byte)(255 - pixels[j]);
                x = trained.Input(pixels);
                what = path! + (inverted ? " (light background: inverted to the training images' bright-on-dark)" : "");
            }
            net.Eval();
            using var _ = Autograd.NoGrad();
            var probs = Functional.Softmax(net.Forward(x), 1).ToArray();
            var best = probs.Select((v, c) => (Probability: v, Label: c)).OrderByDescending(v => v.Probability).Take(k).ToList();
            if (p.GetValue(json))
            {
                stdout.WriteLine(JsonSerializer.Serialize(new
                {
                    input = path ?? $"test:{idx}",
                    true_class = truth is int t0 ? names[t0] : null,
                    top = best.Select(b => new { @class = names[b.Label], label = b.Label, probability = b.Probability }),
                }));
                return CliErrors.Ok;
            }
            stdout.WriteLine($"{what}{(truth is int t ? $" (true class: {names[t]})" : "")}");
            int width = Math.Max(12, best.Max(b => names[b.Label].Length));
            foreach (var (prob, cls) in best)
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {names[cls].PadRight(width)} {prob * 100,6:0.00}%"));
            return CliErrors.Ok;
        }));
        return command;
    }

    // Fashion-MNIST and MNIST show a bright object on black; a photo of a garment usually has a light background.
    private static bool Invert(string mode, TrainingConfig config, byte[] pixels, ImagePreprocessing prep) => mode.ToLowerInvariant() switch
    {
        "on" => true,
        "off" => false,
        "auto" => prep.Channels == 1 && config.DataFormat is null or "idx" or "embedded" && BorderMean(pixels, prep.Height, prep.Width) > 127,
        _ => throw new UsageException($"--invert must be auto, on or off, got '{mode}'"),
    };

    private static double BorderMean(byte[] pixels, int h, int w)
    {
        double sum = 0;
        int n = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                if (y == 0 || x == 0 || y == h - 1 || x == w - 1) { sum += pixels[y * w + x]; n++; }
        return sum / n;
    }
}
