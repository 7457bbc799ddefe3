using System.Globalization;
using CnnLab.Nn;
using CnnLab.Tensors;

namespace CnnLab.Init.Networks;

/// <summary>
/// A whole-model initialization, by name (from code or the CLI's <c>--init</c>):
/// <list type="bullet">
/// <item><c>pytorch-default</c>: what Linear/Conv2d give themselves (<see cref="DefaultInit"/>; biases U(±1/√fan_in)).</item>
/// <item><c>zeros</c>, <c>constant:&lt;v&gt;</c>: every weight equal — fails by symmetry (kept to show it).</item>
/// <item><c>normal:&lt;std&gt;</c>, <c>uniform:&lt;a&gt;</c>: naive N(0, std²) or U(−a, a), blind to fan and activation.</item>
/// <item><c>xavier-uniform</c>, <c>xavier-normal</c>: Glorot, gain 1 on every layer.</item>
/// <item><c>kaiming-uniform</c>, <c>kaiming-normal</c>: He for ReLU (a = 0, fan_in, gain √2) on every layer.</item>
/// <item><c>lecun-normal</c>: N(0, 1/fan_in). <c>orthogonal</c>: Saxe et al.'s orthogonal matrices, gain 1.</item>
/// <item><c>auto</c>: the notes' table, per layer, by the activation that follows it (<see cref="WeightLayer.Find"/>):
/// ReLU → Kaiming normal (gain √2); LeakyReLU(s) → Kaiming normal with a = s (gain √(2/(1+s²)));
/// GELU/ELU → Kaiming normal, gain √2 (ReLU-like; PyTorch's table has no entry for them);
/// Tanh → Xavier normal, gain 5/3; Sigmoid → Xavier normal, gain 1; no activation (the output layer, or a
/// layer followed only by other layers) → Xavier normal, gain 1 (Glorot's rule was derived for linear units).</item>
/// </list>
/// Every scheme but pytorch-default sets biases to 0 (the notes: bias = 0 is fine); every scheme sets
/// BatchNorm's γ = 1, β = 0. Named schemes apply the same rule to every layer, like a PyTorch user calling
/// <c>kaiming_normal_(w, nonlinearity='relu')</c> in a loop; only <c>auto</c> looks at the activations.
/// </summary>
/// <remarks>PyTorch: no counterpart (a loop over <c>model.modules()</c> calling <c>torch.nn.init</c>).</remarks>
public sealed class InitScheme
{
    private enum Kind
    {
        PytorchDefault, Zeros, Constant, Normal, Uniform, XavierUniform, XavierNormal, KaimingUniform, KaimingNormal, LeCunNormal, Orthogonal, Auto,
    }

    /// <summary>The valid names, as accepted by <see cref="Parse"/>.</summary>
    public static IReadOnlyList<string> ValidNames { get; } =
    [
        "pytorch-default", "zeros", "constant:<v>", "normal:<std>", "uniform:<a>", "xavier-uniform", "xavier-normal",
        "kaiming-uniform", "kaiming-normal", "lecun-normal", "orthogonal", "auto",
    ];

    private readonly Kind _kind;
    private readonly double _value;

    private InitScheme(Kind kind, string name, double value = 0)
    {
        _kind = kind;
        Name = name;
        _value = value;
    }

    /// <summary>The scheme's canonical name, e.g. "kaiming-normal" or "normal:0.01".</summary>
    public string Name { get; }

    public override string ToString() => Name;

    /// <summary>Parses a scheme name (case-insensitive); an unknown name is an error that lists the valid ones.</summary>
    public static InitScheme Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string s = text.Trim().ToLowerInvariant();
        int colon = s.IndexOf(':');
        if (colon >= 0)
        {
            string head = s[..colon], arg = s[(colon + 1)..];
            if (head is "constant" or "normal" or "uniform")
            {
                if (!double.TryParse(arg, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
                    throw new ArgumentException($"init scheme '{text}': '{arg}' is not a number (e.g. {head}:0.01)");
                if (head != "constant" && v < 0)
                    throw new ArgumentException($"init scheme '{text}': the {(head == "normal" ? "std" : "bound")} must be >= 0");
                var kind = head switch { "constant" => Kind.Constant, "normal" => Kind.Normal, _ => Kind.Uniform };
                return new InitScheme(kind, head + ":" + v.ToString("R", CultureInfo.InvariantCulture), v);
            }
        }
        return s switch
        {
            "pytorch-default" => new(Kind.PytorchDefault, s),
            "zeros" => new(Kind.Zeros, s),
            "xavier-uniform" => new(Kind.XavierUniform, s),
            "xavier-normal" => new(Kind.XavierNormal, s),
            "kaiming-uniform" => new(Kind.KaimingUniform, s),
            "kaiming-normal" => new(Kind.KaimingNormal, s),
            "lecun-normal" => new(Kind.LeCunNormal, s),
            "orthogonal" => new(Kind.Orthogonal, s),
            "auto" => new(Kind.Auto, s),
            _ => throw new ArgumentException($"unknown init scheme '{text}'; valid schemes: {string.Join(", ", ValidNames)}"),
        };
    }

    /// <summary>
    /// Initializes every weight layer of <paramref name="model"/> (and its biases and BatchNorm layers) in
    /// place, drawing from <paramref name="generator"/> in forward order; returns what it chose per layer.
    /// </summary>
    public IReadOnlyList<LayerInitChoice> Apply(Module model, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(generator);
        var weightLayers = new Dictionary<Module, WeightLayer>(); // Module has reference equality
        foreach (var l in WeightLayer.Find(model)) weightLayers.TryAdd(l.Module, l);
        var report = new List<LayerInitChoice>();
        foreach (var (name, module) in model.NamedModules())
        {
            if (weightLayers.Remove(module, out var layer)) // Remove: a shared module is initialized once
            {
                report.Add(ApplyTo(layer, generator));
            }
            else if (WeightLayer.IsBatchNorm(module))
            {
                foreach (var (pName, p) in module.OwnParameters())
                    if (pName == "weight") Initializers.Ones(p);
                    else if (pName == "bias") Initializers.Zeros(p);
                report.Add(new LayerInitChoice(name, "batchnorm", 1.0, "BatchNorm: γ = 1, β = 0 (PyTorch's default)"));
            }
        }
        return report;
    }

    private LayerInitChoice ApplyTo(WeightLayer layer, Generator g)
    {
        var w = layer.Weight;
        int fanIn = layer.FanIn;
        if (_kind == Kind.PytorchDefault)
        {
            DefaultInit.Apply(w, layer.Bias, g);
            return new(layer.Name, Name, Initializers.CalculateGain(Nonlinearity.LeakyRelu, DefaultInit.KaimingA),
                "PyTorch's reset_parameters: kaiming_uniform(a=√5) = U(±1/√fan_in), Var(W) = 1/(3·fan_in); bias U(±1/√fan_in)");
        }
        if (layer.Bias is not null) Initializers.Zeros(layer.Bias);
        string inv(FormattableString f) => FormattableString.Invariant(f);
        switch (_kind)
        {
            case Kind.Zeros:
                Initializers.Zeros(w);
                return new(layer.Name, Name, 0, "all weights 0: every unit identical (symmetry never broken)");
            case Kind.Constant:
                Initializers.Constant(w, _value);
                return new(layer.Name, Name, 0, inv($"all weights {_value}: every unit identical (symmetry never broken)"));
            case Kind.Normal:
                Initializers.Normal(w, 0, _value, g);
                return new(layer.Name, Name, _value * Math.Sqrt(fanIn), inv($"naive N(0, {_value}²), blind to fan_in = {fanIn}"));
            case Kind.Uniform:
                Initializers.Uniform(w, -_value, _value, g);
                return new(layer.Name, Name, _value / Math.Sqrt(3) * Math.Sqrt(fanIn),
                    inv($"naive U(−{_value}, {_value}), blind to fan_in = {fanIn}"));
            case Kind.XavierUniform:
                Initializers.XavierUniform(w, 1.0, g);
                return new(layer.Name, Name, 1.0, "Glorot & Bengio 2010: Var(W) = 2/(fan_in + fan_out)");
            case Kind.XavierNormal:
                Initializers.XavierNormal(w, 1.0, g);
                return new(layer.Name, Name, 1.0, "Glorot & Bengio 2010: Var(W) = 2/(fan_in + fan_out)");
            case Kind.KaimingUniform:
                Initializers.KaimingUniform(w, 0, FanMode.FanIn, Nonlinearity.Relu, g);
                return new(layer.Name, Name, Math.Sqrt(2), "He et al. 2015 for ReLU: Var(W) = 2/fan_in");
            case Kind.KaimingNormal:
                Initializers.KaimingNormal(w, 0, FanMode.FanIn, Nonlinearity.Relu, g);
                return new(layer.Name, Name, Math.Sqrt(2), "He et al. 2015 for ReLU: Var(W) = 2/fan_in");
            case Kind.LeCunNormal:
                Initializers.LeCunNormal(w, g);
                return new(layer.Name, Name, 1.0, "LeCun et al. 1998: Var(W) = 1/fan_in");
            case Kind.Orthogonal:
                Initializers.Orthogonal(w, 1.0, g);
                return new(layer.Name, Name, 1.0, "Saxe et al. 2013: orthogonal rows/columns, gain 1");
            case Kind.Auto:
                return Auto(layer, g);
            default:
                throw new InvalidOperationException(_kind.ToString());
        }
    }

    private static LayerInitChoice Auto(WeightLayer layer, Generator g)
    {
        var w = layer.Weight;
        var act = layer.Activation;
        string after = act is null ? "" : $"followed by {act} ({layer.ActivationName})";
        switch (act?.Name)
        {
            case "ReLU":
                Initializers.KaimingNormal(w, 0, FanMode.FanIn, Nonlinearity.Relu, g);
                return new(layer.Name, "kaiming-normal", Math.Sqrt(2), $"{after}: Kaiming, Var(W) = 2/fan_in (He et al. 2015)");
            case "LeakyReLU":
                Initializers.KaimingNormal(w, act.Param, FanMode.FanIn, Nonlinearity.LeakyRelu, g);
                return new(layer.Name, FormattableString.Invariant($"kaiming-normal(a={act.Param:G4})"),
                    Initializers.CalculateGain(Nonlinearity.LeakyRelu, act.Param), $"{after}: Kaiming with the slope, Var(W) = 2/((1+a²)·fan_in)");
            case "GELU" or "ELU":
                Initializers.KaimingNormal(w, 0, FanMode.FanIn, Nonlinearity.Relu, g);
                return new(layer.Name, "kaiming-normal", Math.Sqrt(2),
                    $"{after}: ReLU-like, Kaiming with ReLU's gain √2 (PyTorch's table has no entry)");
            case "Tanh":
                double tanhGain = Initializers.CalculateGain(Nonlinearity.Tanh);
                Initializers.XavierNormal(w, tanhGain, g);
                return new(layer.Name, "xavier-normal(gain=5/3)", tanhGain, $"{after}: Xavier with tanh's gain 5/3 (Glorot & Bengio 2010)");
            case "Sigmoid":
                Initializers.XavierNormal(w, 1.0, g);
                return new(layer.Name, "xavier-normal", 1.0, $"{after}: Xavier, gain 1 (Glorot & Bengio 2010)");
            default:
                Initializers.XavierNormal(w, 1.0, g);
                return new(layer.Name, "xavier-normal", 1.0, "no activation follows (output layer): Xavier, gain 1 (Glorot's rule for linear units)");
        }
    }
}
