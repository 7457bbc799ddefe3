using System.Globalization;
using CnnLab.Tensors;

namespace CnnLab.Nn.Models;

/// <summary>
/// A deep plain MLP for initialization experiments: <c>depth</c> hidden Linear(·, width) layers, each
/// followed by the activation, then Linear(width, outFeatures). Named <c>mlp-D-W-ACT</c>, e.g.
/// <c>mlp-30-256-relu</c>: 30 hidden layers of width 256 with ReLU, input 784 (a flattened 28×28 image),
/// output 10. Children "0", "1", ... as in a PyTorch <c>nn.Sequential</c>.
/// </summary>
/// <remarks>PyTorch: <c>nn.Sequential(nn.Linear(784, W), nn.ReLU(), ..., nn.Linear(W, 10))</c>.</remarks>
public static class DeepMlp
{
    /// <summary>The activation names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Activations { get; } = ["relu", "leaky-relu", "tanh", "sigmoid", "gelu", "elu"];

    /// <summary>Builds the MLP (layers get PyTorch's default init from <paramref name="generator"/>).</summary>
    public static Sequential Create(int depth, int width, string activation = "relu", int inFeatures = 784, int outFeatures = 10, Generator? generator = null)
    {
        if (depth < 1) throw new ArgumentOutOfRangeException(nameof(depth), depth, "DeepMlp depth must be at least 1");
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), width, "DeepMlp width must be positive");
        var act = activation.ToLowerInvariant();
        if (!Activations.Contains(act))
            throw new ArgumentException($"unknown activation '{activation}'; valid: {string.Join(", ", Activations)}");
        var gen = generator ?? Generator.Default;
        var model = new Sequential();
        for (int i = 0; i < depth; i++)
        {
            model.Add(new Linear(i == 0 ? inFeatures : width, width, generator: gen));
            model.Add(act switch
            {
                "relu" => new ReLU(),
                "leaky-relu" => new LeakyReLU(),
                "tanh" => new Tanh(),
                "sigmoid" => new Sigmoid(),
                "gelu" => new GELU(),
                _ => new ELU(),
            });
        }
        model.Add(new Linear(width, outFeatures, generator: gen));
        return model;
    }

    /// <summary>Parses "mlp-D-W-ACT" (ACT one of <see cref="Activations"/>); null if <paramref name="name"/> is not of that form.</summary>
    public static Sequential? TryParse(string name, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        var parts = name.ToLowerInvariant().Split('-', 4);
        if (parts.Length != 4 || parts[0] != "mlp") return null;
        if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int depth) || depth < 1
            || !int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out int width) || width < 1)
            throw new ArgumentException($"model '{name}': expected mlp-DEPTH-WIDTH-ACTIVATION with positive integers, e.g. mlp-30-256-relu");
        return Create(depth, width, parts[3], generator: generator);
    }
}
