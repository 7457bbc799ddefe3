using System.CommandLine;
using CnnLab.Init;
using CnnLab.Tensors;
using CnnLab.Init.Networks;
using CnnLab.Cli.Support;
using CnnLab.Nn.Models;

namespace CnnLab.Cli.Commands;

/// <summary>
/// <c>cnnlab doctor --model NAME|spec.json --init SCHEME [--json] [--seed N] [--batch N]</c>: builds the model
/// (any zoo name, e.g. mlp-30-256-relu, plain-cnn-20, resnet-mini, or a JSON spec), initializes it with the
/// scheme, runs the <see cref="InitDoctor"/> on a random N(0, 1) batch with random labels (cross-entropy),
/// and prints its table or, with --json, one JSON document.
/// </summary>
public static class DoctorCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var model = new Option<string>("--model")
        {
            Description = "a zoo model (see 'cnnlab models', e.g. mlp-30-256-relu) or a JSON spec file", Required = true,
        };
        var init = new Option<string>("--init")
        {
            Description = "the init scheme: " + string.Join(", ", InitScheme.ValidNames), DefaultValueFactory = _ => "pytorch-default",
        };
        var json = new Option<bool>("--json") { Description = "print one JSON document (layers, warnings) instead of the table" };
        var seed = new Option<long>("--seed") { Description = "seed of the weights, the batch and its labels", DefaultValueFactory = _ => 0 };
        var batch = new Option<int>("--batch") { Description = "examples in the diagnostic batch", DefaultValueFactory = _ => 64 };
        var command = new Command("doctor",
            "Diagnose a model's initialization: one forward/backward pass at init, per-layer statistics predicted and measured, warnings with fixes.")
        {
            model, init, json, seed, batch,
        };
        command.SetAction(parse => CliErrors.Guard(stderr, () =>
        {
            string modelName = parse.GetValue(model)!;
            var scheme = InitScheme.Parse(parse.GetValue(init)!);
            int batchSize = parse.GetValue(batch);
            if (batchSize < 2) throw new UsageException($"--batch must be at least 2, got {batchSize}");
            long seedValue = parse.GetValue(seed);
            var gen = new Generator(seedValue);
            var (net, inputShape) = Training.Trainer.BuildModel(new Training.TrainingConfig { Model = modelName }, gen);
            ModelSummary.Of(net, inputShape).CheckBatch(batchSize, inputShape, $"--batch {batchSize}");
            var choices = scheme.Apply(net, gen);
            var x = Tensor.Randn(gen, [batchSize, .. inputShape]);
            // labels in [0, classes) with classes read off the output layer
            int classes = WeightLayer.Find(net)[^1].Weight.Shape[0];
            var labels = new int[batchSize];
            for (int i = 0; i < batchSize; i++) labels[i] = gen.NextInt(classes);
            var report = InitDoctor.Diagnose(net, x, labels);
            if (parse.GetValue(json))
            {
                stdout.WriteLine(report.ToJson());
                return CliErrors.Ok;
            }
            stdout.WriteLine($"model {modelName}, init {scheme.Name}, batch {batchSize} x {string.Join("x", inputShape)} ~ N(0, 1), "
                + $"seed {seedValue}");
            foreach (var group in choices.GroupBy(c => (c.Scheme, c.Reason)))
                stdout.WriteLine($"  {string.Join(", ", group.Select(c => c.Layer).Take(6))}"
                    + $"{(group.Count() > 6 ? $", ... ({group.Count()} layers)" : "")}: {group.Key.Scheme} ({group.Key.Reason})");
            stdout.WriteLine();
            stdout.Write(report.ToText());
            return CliErrors.Ok;
        }));
        return command;
    }
}
