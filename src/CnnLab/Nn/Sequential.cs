using CnnLab.Tensors;

namespace CnnLab.Nn;

/// <summary>Runs its children in order; children are named "0", "1", ... as in PyTorch.</summary>
/// <remarks>PyTorch: <c>torch.nn.Sequential</c>.</remarks>
public sealed class Sequential : Module
{
    private readonly List<Module> _layers = [];

    public Sequential(params Module[] layers)
    {
        foreach (var layer in layers) Add(layer);
    }

    /// <summary>Appends a layer named by its position.</summary>
    public Sequential Add(Module layer)
    {
        RegisterModule(_layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), layer);
        _layers.Add(layer);
        _plan = null;
        return this;
    }

    /// <summary>Number of layers.</summary>
    public int Count => _layers.Count;

    /// <summary>The layer at <paramref name="index"/>.</summary>
    public Module this[int index] => _layers[index];

    /// <summary>The layers in order.</summary>
    public IReadOnlyList<Module> Layers => _layers;

    /// <summary>
    /// Whether runs of layers execute fused (default true): <see cref="FusionPlan"/> lists what fuses, always with the
    /// unfused layers' values (bit for bit in training). Tests and benchmarks turn it off to compare.
    /// </summary>
    public bool Fuse { get; set; } = true;

    /// <summary>Sets <see cref="Fuse"/> on every Sequential inside <paramref name="model"/> (itself included).</summary>
    public static void SetFusion(Module model, bool fuse)
    {
        foreach (var (_, module) in model.NamedModules())
            if (module is Sequential sequential) sequential.Fuse = fuse;
    }

    private FusionPlan? _plan;

    /// <summary>relu(Forward(input) + skip) with the add fused into the last layers where the pass can (a residual body).</summary>
    internal Tensor ForwardAddRelu(Tensor input, Tensor skip) => Plan.ForwardAddRelu(input, skip);

    // Made at the first forward after the layers last changed.
    private FusionPlan Plan => _plan ??= new FusionPlan(_layers.ToArray());

    protected override Tensor ForwardCore(Tensor input)
    {
        if (Fuse) return Plan.Forward(input);
        var x = input;
        foreach (var layer in _layers) x = layer.Forward(x);
        return x;
    }
}
