using CnnLab.Data;
using CnnLab.IO;
using CnnLab.Nn;
using CnnLab.Serialization;
using CnnLab.Tensors;
using CnnLab.Training;
using CnnLab.Cli.Support;

namespace CnnLab.Cli.Commands;

/// <summary>The model eval, predict, visualize and export work on: a checkpoint folder's, or a zoo model or spec with weights.</summary>
internal static class TrainedModel
{
    /// <summary>
    /// The config of the model the options name: a checkpoint's, or for <c>--model</c> one sized to <paramref name="data"/>
    /// (Fashion-MNIST's 1x28x28 and ten classes without data).
    /// </summary>
    public static TrainingConfig Config(string? checkpoint, string? model, TrainTestSplit? data = null)
    {
        if (checkpoint is not null) return Checkpoint.Load(checkpoint).Config;
        var config = new TrainingConfig { Model = model ?? "cnn-small" };
        return data is null ? config : Trainer.WithData(config, data);
    }

    /// <summary>Checks <c>--model</c> (a zoo name or a valid spec) and <c>--weights</c> (a valid safetensors file) before any data is read.</summary>
    public static void Check(string? model, string? weights)
    {
        if (model is null || weights is null) throw new UsageException("give --checkpoint DIR, or --model NAME with --weights FILE.safetensors");
        if (!File.Exists(weights)) throw new UsageException($"--weights: file '{weights}' does not exist");
        Trainer.BuildModel(new TrainingConfig { Model = model }, new Generator(0));
        SafeTensors.Load(weights);
    }

    /// <summary>Builds the model and loads its weights; weights holding NaN or Inf are refused, naming the tensor.</summary>
    public static (Module Model, int[] InputShape) Load(string? checkpoint, string? model, string? weights, TrainTestSplit? data = null)
    {
        if (checkpoint is not null)
        {
            if (model is not null || weights is not null)
                throw new UsageException("give either --checkpoint DIR or --model NAME --weights FILE, not both");
            var ckpt = Checkpoint.Load(checkpoint);
            var (net, input) = Trainer.BuildModel(ckpt.Config, new Generator(0));
            string path = Path.Combine(checkpoint, Checkpoint.ModelFile);
            try { net.LoadStateDict(ckpt.Weights); }
            catch (ArgumentException e) { throw new InvalidFileException(path, e.Message); }
            return (Finite(net, path), input);
        }
        if (model is null || weights is null) throw new UsageException("give --checkpoint DIR, or --model NAME with --weights FILE.safetensors");
        if (!File.Exists(weights)) throw new UsageException($"--weights: file '{weights}' does not exist");
        var (m, shape) = Trainer.BuildModel(Config(null, model, data), new Generator(0));
        try { m.LoadStateDict(SafeTensors.Load(weights).Tensors); }
        catch (ArgumentException e) { throw new InvalidFileException(weights, e.Message); }
        return (Finite(m, weights), shape);
    }

    // Weights holding NaN or Inf would give "NaN%" answers: refused, naming the first such tensor.
    private static Module Finite(Module net, string path)
    {
        foreach (var (name, tensor) in net.StateDict())
            if (!NonFiniteGuard.IsFinite(tensor.Data))
                throw new InvalidFileException(path, $"tensor '{name}' holds NaN or Inf: these weights cannot predict anything");
        return net;
    }
}
