using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using CnnLab.Data;
using CnnLab.Nn;
using CnnLab.Nn.Models;
using CnnLab.Serialization;
using CnnLab.Tensors;
using CnnLab.Training;
using CnnLab.IO;
using CnnLab.Cli.Support;

namespace CnnLab.Cli.Commands;

/// <summary>
/// <c>cnnlab eval --checkpoint DIR</c> or <c>cnnlab eval --model NAME --weights FILE.safetensors</c>:
/// test loss, accuracy and per-class accuracy of a trained model (weights from CnnLab or PyTorch).
/// </summary>
public static class EvalCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var checkpoint = new Option<string?>("--checkpoint") { Description = "a checkpoint folder written by 'cnnlab train'" };
        var model = new Option<string?>("--model") { Description = "zoo model or JSON spec (with --weights)" };
        var weights = new Option<string?>("--weights") { Description = "a safetensors file with the model's state_dict (e.g. saved from PyTorch)" };
        var json = new Option<bool>("--json") { Description = "print one JSON object: test_loss, test_acc, per_class_acc" };
        var threads = new Option<int>("--threads") { Description = "CPU threads", DefaultValueFactory = _ => Environment.ProcessorCount };
        var data = new DataOptions(preprocessing: false);
        var command = new Command("eval", "Evaluate a trained model on the test set.") { checkpoint, model, weights, json, threads };
        foreach (var option in data.All) command.Options.Add(option);
        command.SetAction(p => CliErrors.Guard(stderr, () =>
        {
            bool asJson = p.GetValue(json);
            var log = asJson ? stderr : stdout;
            using var threadScope = Kernels.Parallelism.UseThreads(PositiveThreads(p.GetValue(threads)));
            string? dir = p.GetValue(checkpoint);
            ModelArguments.CheckOneWay(dir, p.GetValue(model), p.GetValue(weights));
            // A checkpoint says how its images were prepared; a bare model reads the data as stored and is sized to it.
            var trained = dir is null ? null : ModelArguments.Load(dir, null, null);
            var weightsRead = dir is null ? ModelArguments.CheckAndReadWeights(p.GetValue(model), p.GetValue(weights)) : null;
            var (_, split) = data.Load(p, trained is null ? DatasetOptions.Default : trained.Config.DataOptions, log);
            if (trained is not null) Trainer.WithData(trained.Config, split);
            trained ??= ModelArguments.Load(null, p.GetValue(model), p.GetValue(weights), split, weightsRead);
            var net = trained.Model;
            var loader = new DataLoader(split.Test, 1000, normalize: trained.Config.Normalization);
            var result = Evaluation.Run(net, loader.Epoch(0).Select(b => (b.X, b.Y)), split.Test.NumClasses);
            if (asJson)
            {
                stdout.WriteLine(JsonSerializer.Serialize(new
                {
                    test_loss = result.Loss,
                    test_acc = result.Accuracy,
                    per_class_acc = result.PerClassAccuracy.Select(v => double.IsNaN(v) ? (double?)null : v).ToArray(),
                }));
            }
            else
            {
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"test accuracy {result.Accuracy * 100:0.00}%, test loss {result.Loss:0.0000} ({result.Confusion.Total} images)"));
                stdout.WriteLine(result.Confusion.ToText(split.Test.ClassNames));
            }
            return CliErrors.Ok;
        }));
        return command;
    }

    internal static int PositiveThreads(int threads) =>
        threads >= 1 && threads <= Kernels.Parallelism.MaxThreadsLimit ? threads
            : throw new UsageException($"--threads must be between 1 and {Kernels.Parallelism.MaxThreadsLimit}, got {threads}");

}
