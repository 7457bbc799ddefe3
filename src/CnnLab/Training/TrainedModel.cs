using CnnLab.Data;
using CnnLab.IO;
using CnnLab.Nn;
using CnnLab.Serialization;
using CnnLab.Tensors;

namespace CnnLab.Training;

/// <summary>
/// A trained model ready to use: built from its config (a checkpoint's, or a zoo name or spec) with its weights loaded,
/// and the config that says how its input images are prepared. The one way eval, predict, visualize, the exports and the
/// web app load a run, so that each reads the checkpoint once.
/// </summary>
/// <param name="Model">The network, its weights loaded.</param>
/// <param name="InputShape">[C, H, W] of one input image.</param>
/// <param name="Config">The run's config (input shape, classes, normalization, …).</param>
/// <param name="WeightsPath">The file the weights came from, named in errors.</param>
/// <remarks>PyTorch: <c>model = Net(); model.load_state_dict(torch.load(path))</c>.</remarks>
public sealed record TrainedModel(Sequential Model, int[] InputShape, TrainingConfig Config, string WeightsPath)
{
    /// <summary>The model of the checkpoint in <paramref name="checkpointDir"/>.</summary>
    public static TrainedModel Load(string checkpointDir) => FromCheckpoint(Checkpoint.Load(checkpointDir), checkpointDir);

    /// <summary>The model of checkpoint contents already read from <paramref name="checkpointDir"/>.</summary>
    public static TrainedModel FromCheckpoint(Checkpoint.Contents checkpoint, string checkpointDir)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        return Build(checkpoint.Config, checkpoint.Weights, Path.Combine(checkpointDir, Checkpoint.ModelFile));
    }

    /// <summary>The model <paramref name="config"/> names with the weights of a safetensors file (e.g. saved from PyTorch).</summary>
    public static TrainedModel FromWeights(TrainingConfig config, string weightsPath) =>
        Build(config, SafeTensors.Load(weightsPath).Tensors, weightsPath);

    /// <summary>The model <paramref name="config"/> names with <paramref name="weights"/> already read from <paramref name="path"/>.</summary>
    public static TrainedModel FromWeights(TrainingConfig config, IReadOnlyDictionary<string, Tensor> weights, string path) =>
        Build(config, weights, path);

    private static TrainedModel Build(TrainingConfig config, IReadOnlyDictionary<string, Tensor> weights, string path)
    {
        var (model, input) = Trainer.BuildModel(config, new Generator(0));
        try { model.LoadStateDict(weights); }
        catch (ArgumentException e) { throw new InvalidFileException(path, e.Message); }
        return new TrainedModel(model, input, config, path);
    }

    /// <summary>This model, or an error naming the first weight tensor that holds NaN or Inf (such weights predict nothing).</summary>
    public TrainedModel RequireFinite()
    {
        foreach (var (name, tensor) in Model.StateDict())
            if (!NonFiniteGuard.IsFinite(tensor.Elements))
                throw new InvalidFileException(WeightsPath, $"tensor '{name}' holds NaN or Inf: these weights cannot predict anything");
        return this;
    }

    /// <summary>One prepared image ([C, H, W] bytes, as <see cref="ImagePreprocessing.Apply"/> gives) as the model's normalized input.</summary>
    public Tensor Input(ReadOnlySpan<byte> pixels) => Config.Normalization.ToTensor(pixels, InputShape);
}
