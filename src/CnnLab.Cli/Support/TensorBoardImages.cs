using CnnLab.Data;
using CnnLab.Lab;
using CnnLab.Nn;
using CnnLab.Training.TensorBoard;

namespace CnnLab.Cli.Support;

/// <summary>
/// The pictures <c>cnnlab train --tensorboard</c> adds to the event files: the first layer's filters
/// (<c>images/first_layer_filters</c>), the first test image (<c>images/input</c>) and the feature maps every convolutional
/// stage makes of it (<c>images/feature_maps/K_LAYER</c>, K the layer's index), drawn by CnnLab.Viz as
/// <c>cnnlab visualize</c> draws them. A model without a convolution has no such pictures and gets none.
/// </summary>
/// <remarks>
/// The library's <see cref="SummaryWriter"/> takes encoded PNGs because the library draws nothing; the figures are
/// written to a temporary folder, read back and deleted.
/// </remarks>
public sealed class TensorBoardImages(SummaryWriter writer, ImageDataset test, Normalize normalize)
{
    private readonly int _image = 0;

    /// <summary>Adds the pictures of <paramref name="model"/> as it is now, at <paramref name="step"/>.</summary>
    public void Write(Module model, long step)
    {
        if (model is not Sequential net || !net.Layers.Any(l => l is Conv2d)) return;
        var dir = Directory.CreateTempSubdirectory("cnnlab-tensorboard-");
        try
        {
            var filters = FeatureMapRenderer.Filters(net, Path.Combine(dir.FullName, "filters"));
            if (filters is not null) writer.AddImage("images/first_layer_filters", File.ReadAllBytes(filters.Png), step);
            // Prepared as the run's training images are (its normalization), as cnnlab visualize does.
            var x = new DataLoader(test.Subset([_image]), 1, normalize: normalize, prefetch: false).Epoch(0).First().X;
            var stages = FeatureMapRenderer.Capture(net, x);
            string name = test.ClassNames[test.Label(_image)];
            var rendered = FeatureMapRenderer.Render(stages, x, 0, $"test image {_image}, '{name}'", dir.FullName, "image");
            writer.AddImage("images/input", File.ReadAllBytes(rendered[0].Files.Png), step);
            // Render returns the input first, then one figure per stage in the order of the stages.
            for (int k = 0; k < stages.Count; k++)
                writer.AddImage($"images/feature_maps/{stages[k].Index:00}_{stages[k].Module.GetType().Name}",
                    File.ReadAllBytes(rendered[k + 1].Files.Png), step);
            writer.Flush();
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
