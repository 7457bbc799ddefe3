using CnnLab.Data;
using CnnLab.Serialization;
using CnnLab.Tensors;
using CnnLab.Training;
using CnnLab.Cli.Support;

namespace CnnLab.Cli.Commands;

/// <summary>
/// The options eval and export name a model with: <c>--checkpoint DIR</c>, or <c>--model NAME --weights FILE</c>, checked
/// here and loaded by <see cref="TrainedModel"/>.
/// </summary>
internal static class ModelArguments
{
    /// <summary>Checks that exactly one way was given and <c>--weights</c> exists.</summary>
    public static void CheckOneWay(string? checkpoint, string? model, string? weights)
    {
        if (checkpoint is not null)
        {
            if (model is not null || weights is not null)
                throw new UsageException("give either --checkpoint DIR or --model NAME --weights FILE, not both");
            return;
        }
        if (model is null || weights is null) throw new UsageException("give --checkpoint DIR, or --model NAME with --weights FILE.safetensors");
        if (!File.Exists(weights)) throw new UsageException($"--weights: file '{weights}' does not exist");
    }

    /// <summary>
    /// Checks <c>--model</c> (a zoo name or a valid spec) and reads <c>--weights</c> (a valid safetensors file) before any
    /// data is read, so that a bad one is refused before anything is printed.
    /// </summary>
    public static IReadOnlyDictionary<string, Tensor> CheckAndReadWeights(string? model, string? weights)
    {
        CheckOneWay(null, model, weights);
        Trainer.BuildModel(new TrainingConfig { Model = model! }, new Generator(0));
        return SafeTensors.Load(weights!).Tensors;
    }

    /// <summary>
    /// The model the options name, weights holding NaN or Inf refused: a checkpoint's, or <c>--model</c> with
    /// <c>--weights</c> sized to <paramref name="data"/> (Fashion-MNIST's 1x28x28 and ten classes without data).
    /// </summary>
    public static TrainedModel Load(string? checkpoint, string? model, string? weights, TrainTestSplit? data = null,
        IReadOnlyDictionary<string, Tensor>? weightsRead = null)
    {
        CheckOneWay(checkpoint, model, weights);
        if (checkpoint is not null) return TrainedModel.Load(checkpoint).RequireFinite();
        var config = new TrainingConfig { Model = model! };
        if (data is not null) config = Trainer.WithData(config, data);
        return (weightsRead is null ? TrainedModel.FromWeights(config, weights!) : TrainedModel.FromWeights(config, weightsRead, weights!))
            .RequireFinite();
    }
}
