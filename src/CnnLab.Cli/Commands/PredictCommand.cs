using System.CommandLine;
using System.Globalization;
using CnnLab.Data;
using CnnLab.Nn;
using CnnLab.Tensors;
using CnnLab.Cli.Support;

namespace CnnLab.Cli.Commands;

/// <summary><c>cnnlab predict --checkpoint DIR --index N</c> (or an image file): the top-3 classes with probabilities.</summary>
public static class PredictCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "a checkpoint folder written by 'cnnlab train'", Required = true };
        var index = new Option<int?>("--index") { Description = "classify test image N of the data set" };
        var image = new Argument<string?>("image")
        {
            Description = "a PNG/JPEG image (converted to 28x28 grayscale)", Arity = ArgumentArity.ZeroOrOne,
        };
        var data = DataOptions.Create();
        var command = new Command("predict", "Classify one image with a trained model: top-3 classes with probabilities.")
        {
            checkpoint, index, image, data,
        };
        command.SetAction(p => CliErrors.Guard(stderr, () =>
        {
            var net = TrainedModel.Load(p.GetValue(checkpoint), null, null).Model;
            string? path = p.GetValue(image);
            int? idx = p.GetValue(index);
            if ((path is null) == (idx is null)) throw new UsageException("give either an IMAGE file or --index N");
            Tensor x;
            string what;
            int? truth = null;
            IReadOnlyList<string> names = FashionMnist.ClassNames;
            if (idx is int i)
            {
                var (_, split) = DataOptions.Load(p.GetValue(data), stdout);
                if (i < 0 || i >= split.Test.Count) throw new UsageException($"--index must be between 0 and {split.Test.Count - 1}, got {i}");
                x = ToInput(split.Test.ImageBytes(i), split.Test.Channels, split.Test.Height, split.Test.Width);
                truth = split.Test.Label(i);
                names = split.Test.ClassNames;
                what = $"test image {i}";
            }
            else
            {
                if (!File.Exists(path)) throw new UsageException($"image file '{path}' does not exist");
                var pixels = ImageFile.ReadGray28(path!, out bool inverted);
                x = ToInput(pixels, 1, 28, 28);
                what = path! + (inverted ? " (light background: inverted to Fashion-MNIST's bright-on-dark)" : "");
            }
            net.Eval();
            using var _ = Autograd.NoGrad();
            var probs = Functional.Softmax(net.Forward(x), 1).ToArray();
            stdout.WriteLine($"{what}{(truth is int t ? $" (true class: {names[t]})" : "")}");
            foreach (var (prob, cls) in probs.Select((v, k) => (v, k)).OrderByDescending(v => v.v).Take(3))
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {names[cls],-12} {prob * 100,6:0.00}%"));
            return CliErrors.Ok;
        }));
        return command;
    }

    private static Tensor ToInput(ReadOnlySpan<byte> pixels, int c, int h, int w)
    {
        var norm = Normalize.FashionMnist;
        var x = new Tensor(1, c, h, w);
        for (int k = 0; k < pixels.Length; k++) x.Data[k] = (pixels[k] / 255f - norm.Mean) / norm.Std;
        return x;
    }
}
