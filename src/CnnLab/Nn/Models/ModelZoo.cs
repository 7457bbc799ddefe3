using System.Globalization;
using System.Text.RegularExpressions;
using CnnLab.IO;
using CnnLab.Tensors;

namespace CnnLab.Nn.Models;

/// <summary>
/// The models CnnLab knows by name. Each is an <see cref="Sequential"/> whose state-dict keys equal
/// those of the same <c>nn.Sequential</c> in PyTorch (written down in tools/reference/models.py), so
/// weights move between the two without renaming.
/// </summary>
public static partial class ModelZoo
{
    /// <summary>The fixed names, with a one-line description, for <c>cnnlab models</c>.</summary>
    public static IReadOnlyList<(string Name, string Description)> Catalog { get; } =
    [
        ("lenet5", "LeCun et al. 1998: Conv(1→6,5x5,pad 2)-ReLU-Pool-Conv(6→16,5x5)-ReLU-Pool-FC 400→120→84→10"),
        ("cnn-small", "the notes' CNN: Conv(1→32,3x3)-ReLU-Pool-Conv(32→64,3x3)-ReLU-Pool-FC 3136→128→10"),
        ("cnn-bn", "cnn-small with BatchNorm2d after each conv (Conv-BN-ReLU-Pool)"),
        ("mlp", "fully connected 784-256-256-10 with ReLU"),
        ("mlp-D-W-ACT", "parametric MLP: D hidden layers of width W, ACT in relu|tanh|sigmoid|leaky-relu (e.g. mlp-10-256-tanh)"),
        ("plain-cnn-D", "D 3x3 conv layers of 16 channels, ReLU, no BatchNorm, two poolings, global average pooling (e.g. plain-cnn-30)"),
        ("resnet-mini", "residual network: stem + 3 stages of 2 BasicBlocks (16/32/64 channels, BatchNorm), global average pooling"),
    ];

    [GeneratedRegex(@"^mlp-(\d+)-(\d+)-(relu|tanh|sigmoid|leaky-relu)$")]
    private static partial Regex MlpPattern();

    [GeneratedRegex(@"^plain-cnn-(\d+)$")]
    private static partial Regex PlainCnnPattern();

    /// <summary>True when <paramref name="name"/> is a zoo model.</summary>
    public static bool IsKnown(string name) =>
        Catalog.Any(c => c.Name == name) || MlpPattern().IsMatch(name) || PlainCnnPattern().IsMatch(name);

    /// <summary>True when <paramref name="name"/> has a with/without-BatchNorm twin that <see cref="WithBatchNorm"/> switches.</summary>
    public static bool HasBatchNormVariant(string name) => name is "cnn-small" or "cnn-bn";

    /// <summary>
    /// The zoo model <paramref name="name"/> with (<paramref name="batchNorm"/> true: cnn-bn) or without (cnn-small) BatchNorm,
    /// the one mapping that the sweeps' batch_norm axis and the Playground's switch share; a model without a twin is refused.
    /// </summary>
    public static string WithBatchNorm(string name, bool batchNorm) => HasBatchNormVariant(name)
        ? batchNorm ? "cnn-bn" : "cnn-small"
        : throw new ArgumentException($"model '{name}' has no BatchNorm variant: batch_norm switches only between cnn-small and cnn-bn");

    /// <summary>Builds the named model with weights drawn from <paramref name="generator"/> (PyTorch's default init).</summary>
    public static Sequential Create(string name, Generator generator, ModelOptions? options = null)
    {
        options ??= ModelOptions.Default;
        if (options.InputChannels < 1 || options.InputHeight < 1 || options.InputWidth < 1 || options.NumClasses < 1)
            throw new ArgumentException(
                $"model '{name}': input {Shape.Format(options.InputShape)} and {options.NumClasses} classes must be positive");
        switch (name)
        {
            case "lenet5": return LeNet5(generator, options);
            case "cnn-small": return CnnSmall(generator, options, batchNorm: false);
            case "cnn-bn": return CnnSmall(generator, options, batchNorm: true);
            case "mlp": return Mlp(2, 256, "relu", generator, options);
            case "resnet-mini": return ResNetMini(generator, options);
        }
        var mlp = MlpPattern().Match(name);
        if (mlp.Success)
        {
            if (!int.TryParse(mlp.Groups[1].Value, CultureInfo.InvariantCulture, out int depth)
                || !int.TryParse(mlp.Groups[2].Value, CultureInfo.InvariantCulture, out int width)
                || depth < 1 || depth > 1000 || width < 1 || width > 65536)
                throw new ArgumentException($"model '{name}': depth must be 1..1000 and width 1..65536");
            return Mlp(depth, width, mlp.Groups[3].Value, generator, options);
        }
        var plain = PlainCnnPattern().Match(name);
        if (plain.Success)
        {
            if (!int.TryParse(plain.Groups[1].Value, CultureInfo.InvariantCulture, out int depth) || depth < 1 || depth > 200)
                throw new ArgumentException($"model '{name}': depth must be 1..200");
            return PlainCnn(depth, 16, generator, options);
        }
        throw new ArgumentException($"unknown model '{name}'. Known models: {string.Join(", ", Catalog.Select(c => c.Name))}");
    }

    /// <summary>The activation module for "relu|tanh|sigmoid|leaky-relu".</summary>
    public static Module Activation(string name) => name switch
    {
        "relu" => new ReLU(),
        "tanh" => new Tanh(),
        "sigmoid" => new Sigmoid(),
        "leaky-relu" => new LeakyReLU(),
        _ => throw new ArgumentException($"unknown activation '{name}': expected relu, tanh, sigmoid or leaky-relu"),
    };

    // Conv → ReLU → Pool (or Conv → Pool → ReLU), with the chosen downsampling.
    private static void AddActivationAndPool(Sequential s, int channels, Generator g, ModelOptions o)
    {
        Module pool = o.Pool switch
        {
            PoolKind.Avg => new AvgPool2d(2),
            PoolKind.StridedConv => new Conv2d(channels, channels, 3, stride: 2, padding: 1, generator: g),
            _ => new MaxPool2d(2),
        };
        if (o.ReluOrder == ReluOrder.BeforePool) { s.Add(new ReLU()); s.Add(pool); }
        else { s.Add(pool); s.Add(new ReLU()); }
    }

    private static Sequential LeNet5(Generator g, ModelOptions o)
    {
        var s = new Sequential();
        s.Add(new Conv2d(o.InputChannels, 6, 5, padding: 2, generator: g));
        AddActivationAndPool(s, 6, g, o);
        s.Add(new Conv2d(6, 16, 5, generator: g));
        AddActivationAndPool(s, 16, g, o);
        int h = (o.InputHeight / 2 - 4) / 2, w = (o.InputWidth / 2 - 4) / 2;
        if (h < 1 || w < 1) throw new ArgumentException($"model 'lenet5' needs images of at least 12x12, got {o.InputHeight}x{o.InputWidth}");
        s.Add(new Flatten());
        s.Add(new Linear(16 * h * w, 120, generator: g));
        s.Add(new ReLU());
        s.Add(new Linear(120, 84, generator: g));
        s.Add(new ReLU());
        s.Add(new Linear(84, o.NumClasses, generator: g));
        return s;
    }

    private static Sequential CnnSmall(Generator g, ModelOptions o, bool batchNorm)
    {
        var s = new Sequential();
        s.Add(new Conv2d(o.InputChannels, 32, 3, padding: 1, generator: g));
        if (batchNorm) s.Add(new BatchNorm2d(32));
        AddActivationAndPool(s, 32, g, o);
        s.Add(new Conv2d(32, 64, 3, padding: 1, generator: g));
        if (batchNorm) s.Add(new BatchNorm2d(64));
        AddActivationAndPool(s, 64, g, o);
        int h = o.InputHeight / 4, w = o.InputWidth / 4;
        if (h < 1 || w < 1) throw new ArgumentException($"model 'cnn-small' needs images of at least 4x4, got {o.InputHeight}x{o.InputWidth}");
        s.Add(new Flatten());
        s.Add(new Linear(Saturating.Multiply(64L * h, w) <= int.MaxValue ? 64 * h * w
            : throw new ArgumentException($"model 'cnn-small': {o.InputHeight}x{o.InputWidth} images give too many features"), 128, generator: g));
        s.Add(new ReLU());
        s.Add(new Linear(128, o.NumClasses, generator: g));
        return s;
    }

    private static Sequential Mlp(int depth, int width, string activation, Generator g, ModelOptions o)
    {
        long features = Saturating.Multiply(Saturating.Multiply(o.InputChannels, o.InputHeight), o.InputWidth);
        if (features > int.MaxValue) throw new ArgumentException($"model 'mlp': {Shape.Format(o.InputShape)} images give too many features");
        int inFeatures = (int)features;
        // Sized before any weight is allocated: the first layer, depth − 1 hidden ones, the classifier.
        long parameters = Saturating.Add(Saturating.Multiply(inFeatures + 1L, width),
            Saturating.Add(Saturating.Multiply(depth - 1L, Saturating.Multiply(width + 1L, width)), (width + 1L) * o.NumClasses));
        Budgets.CheckParameters(parameters, $"model 'mlp-{depth}-{width}-{activation}'");
        var s = new Sequential(new Flatten());
        for (int i = 0; i < depth; i++)
        {
            s.Add(new Linear(i == 0 ? inFeatures : width, width, generator: g));
            s.Add(Activation(activation));
        }
        s.Add(new Linear(width, o.NumClasses, generator: g));
        return s;
    }

    // D conv layers; max pooling after layers ⌈D/3⌉ and ⌈2D/3⌉ (28 → 14 → 7); global average pooling head.
    private static Sequential PlainCnn(int depth, int channels, Generator g, ModelOptions o)
    {
        var s = new Sequential();
        int pool1 = (depth + 2) / 3, pool2 = (2 * depth + 2) / 3;
        if (Math.Min(o.InputHeight, o.InputWidth) < 4)
            throw new ArgumentException(
                $"model 'plain-cnn-{depth}' pools twice: it needs images of at least 4x4, got {o.InputHeight}x{o.InputWidth}");
        for (int i = 1; i <= depth; i++)
        {
            s.Add(new Conv2d(i == 1 ? o.InputChannels : channels, channels, 3, padding: 1, generator: g));
            s.Add(new ReLU());
            if ((i == pool1 || i == pool2) && (depth > 1 || i == 1)) s.Add(new MaxPool2d(2));
        }
        s.Add(new AdaptiveAvgPool2d(1));
        s.Add(new Flatten());
        s.Add(new Linear(channels, o.NumClasses, generator: g));
        return s;
    }

    private static Sequential ResNetMini(Generator g, ModelOptions o)
    {
        var s = new Sequential(
            new Conv2d(o.InputChannels, 16, 3, padding: 1, bias: false, generator: g),
            new BatchNorm2d(16),
            new ReLU());
        int inC = 16;
        foreach (var (outC, stride) in new[] { (16, 1), (16, 1), (32, 2), (32, 1), (64, 2), (64, 1) })
        {
            s.Add(BasicBlock(inC, outC, stride, g));
            inC = outC;
        }
        s.Add(new AdaptiveAvgPool2d(1));
        s.Add(new Flatten());
        s.Add(new Linear(64, o.NumClasses, generator: g));
        return s;
    }

    // He et al. 2016 BasicBlock: ReLU(BN(Conv(ReLU(BN(Conv(x))))) + shortcut(x)).
    private static Sequential BasicBlock(int inC, int outC, int stride, Generator g)
    {
        var body = new Sequential(
            new Conv2d(inC, outC, 3, stride: stride, padding: 1, bias: false, generator: g),
            new BatchNorm2d(outC),
            new ReLU(),
            new Conv2d(outC, outC, 3, padding: 1, bias: false, generator: g),
            new BatchNorm2d(outC));
        Module? shortcut = stride != 1 || inC != outC
            ? new Sequential(new Conv2d(inC, outC, 1, stride: stride, bias: false, generator: g), new BatchNorm2d(outC))
            : null;
        return new Sequential(new Residual(body, shortcut), new ReLU());
    }
}
