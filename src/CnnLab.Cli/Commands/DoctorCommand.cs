using System.CommandLine;
using CnnLab.Init;
using CnnLab.Nn;
using CnnLab.Nn.Models;
using CnnLab.Tensors;

namespace CnnLab.Cli.Commands;

/// <summary>
/// <c>cnnlab doctor --model NAME --init SCHEME [--json] [--seed N] [--batch N]</c>: initializes the model with
/// the scheme, runs the <see cref="InitDoctor"/> on a random N(0, 1) batch and prints its table (or JSON).
/// Models for now: <c>mlp-D-W-ACT</c> (<see cref="DeepMlp"/>).
/// </summary>
public static class DoctorCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var model = new Option<string>("--model") { Description = "the model: mlp-DEPTH-WIDTH-ACT (ACT: " + string.Join("|", DeepMlp.Activations) + "), e.g. mlp-30-256-relu", Required = true };
        var init = new Option<string>("--init") { Description = "the init scheme: " + string.Join(", ", InitScheme.ValidNames), DefaultValueFactory = _ => "pytorch-default" };
        var json = new Option<bool>("--json") { Description = "print one JSON document instead of the table" };
        var seed = new Option<long>("--seed") { Description = "seed of the weights and the batch", DefaultValueFactory = _ => 0 };
        var batch = new Option<int>("--batch") { Description = "examples in the diagnostic batch", DefaultValueFactory = _ => 128 };
        var command = new Command("doctor", "Diagnose a model's initialization: one forward/backward pass at init, per-layer statistics, warnings with fixes.")
        {
            model, init, json, seed, batch,
        };
        command.SetAction(parse =>
        {
            try
            {
                string modelName = parse.GetValue(model)!;
                var scheme = InitScheme.Parse(parse.GetValue(init)!);
                int batchSize = parse.GetValue(batch);
                if (batchSize < 2) throw new ArgumentException($"--batch must be at least 2, got {batchSize}");
                var gen = new Generator(parse.GetValue(seed));
                var net = BuildModel(modelName, gen);
                var choices = scheme.Apply(net, gen);
                var x = Tensor.Randn(gen, batchSize, 784);
                var labels = new int[batchSize];
                for (int i = 0; i < batchSize; i++) labels[i] = gen.NextInt(10);
                var report = InitDoctor.Diagnose(net, x, labels);
                if (parse.GetValue(json))
                {
                    stdout.WriteLine(report.ToJson());
                }
                else
                {
                    stdout.WriteLine($"model {modelName}, init {scheme.Name}, batch {batchSize} x 784 ~ N(0, 1), seed {parse.GetValue(seed)}");
                    foreach (var c in choices.DistinctBy(c => (c.Scheme, c.Reason)).Take(8))
                        stdout.WriteLine($"  {c.Layer}: {c.Scheme} ({c.Reason})");
                    stdout.WriteLine();
                    stdout.Write(report.ToText());
                }
                return 0;
            }
            catch (ArgumentException e)
            {
                stderr.WriteLine($"cnnlab doctor: {e.Message}");
                return 2;
            }
        });
        return command;
    }

    private static Module BuildModel(string name, Generator gen) =>
        DeepMlp.TryParse(name, gen)
        ?? throw new ArgumentException($"unknown model '{name}'; available now: mlp-DEPTH-WIDTH-ACT with ACT one of {string.Join(", ", DeepMlp.Activations)} (e.g. mlp-30-256-relu); the model zoo and spec files come later");
}
