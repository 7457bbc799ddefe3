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
        var command = new Command("models", "List the model zoo, or show one model's layers, output shapes and parameter counts.") { name };
        command.SetAction(p => CliErrors.Guard(stderr, () =>
        {
            string? n = p.GetValue(name);
            if (n is not null)
            {
                var (model, input) = Training.Trainer.BuildModel(new Training.TrainingConfig { Model = n }, new Generator(0));
                stdout.WriteLine(n);
                stdout.WriteLine(ModelSummary.Of(model, input).ToText());
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
                + "'cnnlab models NAME' shows the layers.");
            return CliErrors.Ok;
        }));
        return command;
    }
}
