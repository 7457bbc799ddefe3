using System.CommandLine;
using System.Globalization;
using CnnLab.Data;
using CnnLab.Lab;
using CnnLab.Nn;
using CnnLab.Tensors;
using CnnLab.Training;
using CnnLab.Cli.Support;

namespace CnnLab.Cli.Commands;

/// <summary>
/// <c>cnnlab visualize --checkpoint DIR --image N [--out DIR] [--arithmetic]</c>: the feature maps of every
/// conv/ReLU/pool stage of a trained model for test image N, its first-layer filters, the dead (all-zero)
/// ReLU maps, and optionally the arithmetic of one convolution output pixel from the actual weights.
/// </summary>
public static class VisualizeCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "a checkpoint folder written by 'cnnlab train'", Required = true };
        var image = new Option<int>("--image") { Description = "index N of the test image to show", Required = true };
        var outDir = new Option<string>("--out") { Description = "output folder for the PNG/SVG figures", DefaultValueFactory = _ => "feature-maps" };
        var arithmetic = new Option<bool>("--arithmetic")
        {
            Description = "print the convolution arithmetic of one output pixel (window, kernel, products, sum, bias, ReLU, pooling)",
        };
        var data = new DataOptions(preprocessing: false);
        var command = new Command("visualize",
            "Draw the feature maps of every conv/ReLU/pool stage of a trained model for one test image, and its first-layer filters.")
        {
            checkpoint, image, outDir, arithmetic,
        };
        foreach (var option in data.All) command.Options.Add(option);
        command.SetAction(p => CliErrors.Guard(stderr, () =>
        {
            var trained = ModelArguments.Load(p.GetValue(checkpoint), null, null);
            var (net, config) = (trained.Model, trained.Config);
            if (net is not Sequential model || !model.Layers.Any(l => l is Conv2d))
                throw new UsageException("visualize needs a convolutional model (one with Conv2d layers); this checkpoint has none");
            var (_, split) = data.Load(p, config.DataOptions, stdout);
            Trainer.WithData(config, split);
            int i = p.GetValue(image);
            if (i < 0 || i >= split.Test.Count) throw new UsageException($"--image must be between 0 and {split.Test.Count - 1}, got {i}");
            string dir = p.GetValue(outDir)!;
            OutputFolder.Ensure(dir);

            var x = new DataLoader(split.Test.Subset([i]), 1, normalize: config.Normalization, prefetch: false).Epoch(0).First().X;
            var stages = FeatureMapRenderer.Capture(model, x);
            string name = split.Test.ClassNames[split.Test.Label(i)];
            var prediction = Predict(model, x);
            stdout.WriteLine($"Test image {i} (true class: {name}; predicted: {split.Test.ClassNames[prediction]})");
            var rendered = FeatureMapRenderer.Render(stages, x, 0, $"test image {i}, '{name}'", dir, $"image{i}",
                normalization: config.Normalization);
            foreach (var (stage, files, dead) in rendered)
            {
                if (stage == "input") { stdout.WriteLine($"  input                        {files.Png}"); continue; }
                var s = stages.First(st => st.Label == stage);
                var stats = FeatureMapRenderer.Stats(s);
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {stage,-28} {s.Channels}x{s.Height}x{s.Width}, {stats.Sparsity * 100:0.0}% zeros, "
                    + $"mean {stats.MeanActivation:0.000}  {files.Png}"));
                if (s.Module is ReLU && dead.Length > 0)
                    stdout.WriteLine($"    dead ReLU maps (all zero on this image): {dead.Length} of {s.Channels}: {string.Join(", ", dead)}");
            }
            var filters = FeatureMapRenderer.Filters(model, Path.Combine(dir, "filters"))!;
            stdout.WriteLine($"  first-layer filters          {filters.Png}");
            int deadRelu = stages.Where(s => s.Module is ReLU).Sum(s => FeatureMapRenderer.Stats(s).DeadMaps.Length);
            stdout.WriteLine(deadRelu == 0
                ? "No dead ReLU maps on this image."
                : $"{deadRelu} ReLU maps are all zero (dead) on this image; they are framed red in the figures.");
            if (p.GetValue(arithmetic))
            {
                var a = FeatureMapRenderer.Arithmetic(stages, x, 0);
                stdout.WriteLine();
                stdout.WriteLine("Convolution arithmetic of one output pixel (from the model's weights):");
                foreach (var line in a.Lines) stdout.WriteLine("  " + line);
            }
            return CliErrors.Ok;
        }));
        return command;
    }

    private static int Predict(Module model, Tensor x)
    {
        model.Eval();
        using var _ = Autograd.NoGrad();
        var logits = model.Forward(x).ToArray();
        int best = 0;
        for (int k = 1; k < logits.Length; k++) if (logits[k] > logits[best]) best = k;
        return best;
    }
}
