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
        return this;
    }

    /// <summary>Number of layers.</summary>
    public int Count => _layers.Count;

    /// <summary>The layer at <paramref name="index"/>.</summary>
    public Module this[int index] => _layers[index];

    /// <summary>The layers in order.</summary>
    public IReadOnlyList<Module> Layers => _layers;

    protected override Tensor ForwardCore(Tensor input)
    {
        var x = input;
        for (int i = 0; i < _layers.Count; i++)
        {
            // Conv2d (→ BatchNorm2d) → ReLU (→ MaxPool2d) and BatchNorm2d → ReLU → MaxPool2d run as one
            // fused op (Functional.Conv2dRelu / Conv2dReluMaxPool2d / Conv2dBatchNormReluMaxPool2d /
            // BatchNormReluMaxPool2d: same values, fewer passes over memory) unless a hook needs to see an
            // intermediate output.
            if (Fusable(i, 4) && _layers[i] is Conv2d cb && _layers[i + 1] is BatchNorm2d bn4 && _layers[i + 2] is ReLU && _layers[i + 3] is MaxPool2d pool4)
            {
                x = bn4.ForwardAfterConvWithReluMaxPool(x, cb, pool4);
                i += 3;
                continue;
            }
            if (Fusable(i, 3) && _layers[i + 1] is ReLU && _layers[i + 2] is MaxPool2d pool)
            {
                if (_layers[i] is Conv2d c) { x = c.ForwardWithReluMaxPool(x, pool); i += 2; continue; }
                if (_layers[i] is BatchNorm2d bn) { x = bn.ForwardWithReluMaxPool(x, pool); i += 2; continue; }
            }
            if (Fusable(i, 2) && _layers[i] is Conv2d conv && _layers[i + 1] is ReLU)
            {
                x = conv.ForwardWithRelu(x);
                i++;
                continue;
            }
            x = _layers[i].Forward(x);
        }
        return x;
    }

    // Layers i .. i + count − 1 exist, fusion is on, and none of them has a forward hook.
    private bool Fusable(int i, int count)
    {
        if (!FuseConvRelu || i + count > _layers.Count) return false;
        for (int j = i; j < i + count; j++)
            if (_layers[j].HasForwardHooks) return false;
        return true;
    }

    /// <summary>Whether Conv2d (→ BatchNorm2d) → ReLU (→ MaxPool2d) and BatchNorm2d → ReLU → MaxPool2d run fused (default true; tests and benchmarks turn it off to compare).</summary>
    public static bool FuseConvRelu { get; set; } = true;
}
