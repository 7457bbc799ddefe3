using System.CommandLine;
using System.Globalization;
using CnnLab.Nn.Models;
using CnnLab.Tensors;
using CnnLab.Cli.Support;

namespace CnnLab.Cli.Commands;

/// <summary><c>cnnlab models [NAME]</c>: the zoo with parameter counts, or one model's layer table (like torchinfo).</summary>
public static class ModelsCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var name = new Argument<string?>("name")
        {
            Description = "show this model's layers (a zoo name or a JSON spec file)", Arity = ArgumentArity.ZeroOrOne,
        };
        var input = new Option<string?>("--input")
        {
            Description = "the input images as CxHxW (e.g. 3x32x32): the zoo's models follow it (default 1x28x28; a spec has its own)",
        };
        var classes = new Option<int>("--classes") { Description = "output classes of a zoo model", DefaultValueFactory = _ => 10 };
        var command = new Command("models", "List the model zoo, or show one model's layers, output shapes and parameter counts.")
        {
            name, input, classes,
        };
        command.SetAction(p => CliErrors.Guard(stderr, () =>
        {
            string? n = p.GetValue(name);
            if (n is not null)
            {
                int k = p.GetValue(classes);
                if (k < 2 || k > 100_000) throw new UsageException($"--classes must be between 2 and 100000, got {k}");
                var config = new Training.TrainingConfig
                {
                    Model = n, InputShape = p.GetValue(input) is { } text ? ParseInput(text) : null,
                    ClassNames = [.. Enumerable.Range(0, k).Select(i => $"class {i}")],
                };
                var (model, shape) = Training.Trainer.BuildModel(config, new Generator(0));
                if (config.InputShape is { } given && !given.SequenceEqual(shape))
                    throw new UsageException($"--input {Shape.Format(given)}: the spec {n} takes {Shape.Format(shape)}");
                stdout.WriteLine($"{n}, input {string.Join("x", shape)}");
                stdout.WriteLine(ModelSummary.Of(model, shape).ToText());
                return CliErrors.Ok;
            }
            var examples = new[] { "lenet5", "cnn-small", "cnn-bn", "mlp", "mlp-10-256-tanh", "plain-cnn-20", "resnet-mini" };
            stdout.WriteLine($"{"name",-16} {"params",10}  description");
            foreach (var (catalogName, description) in ModelZoo.Catalog)
            {
                string shown = catalogName switch { "mlp-D-W-ACT" => "mlp-10-256-tanh", "plain-cnn-D" => "plain-cnn-20", _ => catalogName };
                long count = ModelZoo.Create(shown, new Generator(0)).Parameters().Sum(t => (long)t.Numel);
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{catalogName,-16} {count,10:N0}  {description}{(shown != catalogName ? $" [{shown}]" : "")}"));
            }
            stdout.WriteLine();
            stdout.WriteLine("Options for the CNNs: --pool max|avg|conv, --relu-order before-pool|after-pool. "
                + "'cnnlab models NAME [--input 3x32x32]' shows the layers; the zoo's models follow the data's channels, size and classes.");
            return CliErrors.Ok;
        }));
        return command;
    }

    // "CxHxW" with C of 1 or 3 and sides 1..4096.
    private static int[] ParseInput(string text)
    {
        var parts = text.ToLowerInvariant().Split('x');
        if (parts.Length == 3 && parts.All(v => int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            int[] shape = [.. parts.Select(v => int.Parse(v, CultureInfo.InvariantCulture))];
            if (shape[0] is 1 or 3 && shape[1] is >= 1 and <= 4096 && shape[2] is >= 1 and <= 4096) return shape;
        }
        throw new UsageException($"--input must be CxHxW with 1 or 3 channels and sides 1..4096 (e.g. 3x32x32), got '{text}'");
    }
}
