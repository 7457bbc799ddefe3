using System.Collections.Concurrent;
using CnnLab.Tensors;

namespace CnnLab.Nn;

/// <summary>
/// The fusion pass over a <see cref="Sequential"/>: it walks the layers once, by type, and groups the runs that can
/// execute as one op. Training and eval are decided when a group runs, and so are hooks: a group whose layers have a
/// forward hook runs layer by layer, so every hook sees the intermediate it asked for. Groups, first match at each layer:
/// <list type="bullet">
/// <item>Conv2d (→ BatchNorm2d) (→ ReLU) (→ MaxPool2d), Conv2d (→ BatchNorm2d) → LeakyReLU, ELU, GELU, sigmoid or tanh
/// (→ AvgPool2d or MaxPool2d), and BatchNorm2d → ReLU → MaxPool2d (<see cref="ConvBlock"/>);</item>
/// <item>Residual → ReLU: the residual add and the ReLU as one op (<see cref="Functional.AddRelu"/>); with no hook in the block,
/// in the epilogue of the body's last convolution in inference, or in the pass of its last batch norm in training where the
/// shortcut draws no random numbers (<see cref="ForwardAddRelu"/>).</item>
/// </list>
/// Modules do not know their neighbours; only this pass does. Under no-grad it also hands each intermediate back to the
/// <see cref="Tensors.CachingAllocator"/> as soon as the next step has read it, where no hook saw it and every module is the
/// library's own (a module of the user's might keep what it was given), so the next step's output reuses lines still in cache.
/// A batch whose intermediates outgrow the cache runs there a slice of images at a time through the steps that write them
/// (<see cref="BatchSlices"/>).
/// </summary>
/// <remarks>PyTorch: what <c>torch.fx</c>'s fusion passes and <c>torch.jit.freeze</c> do to a model, applied at every forward.</remarks>
internal sealed class FusionPlan
{
    private readonly IReadOnlyList<Module> _layers;
    private readonly List<(int Start, int Count, Func<Tensor, Tensor>? Fused, ConvBlock? Block)> _steps = [];

    public FusionPlan(IReadOnlyList<Module> layers)
    {
        _layers = layers;
        for (int i = 0; i < layers.Count;)
        {
            var (count, fused, block) = Match(layers, i);
            _steps.Add((i, count, fused, block));
            i += count;
        }
        _libraryOnly = layers.All(l => l.NamedModules().All(m => m.Module.GetType().Assembly == typeof(Module).Assembly));
        _perImage = layers.All(l => l.NamedModules().All(m => BatchSlices.PerImage(m.Module)));
    }

    // Every module computes each image's output from that image alone in eval mode (BatchSlices.PerImage).
    private readonly bool _perImage;

    // The floats of one image's output of each step, by the image's shape (a forward of one image).
    private readonly ConcurrentDictionary<string, long[]> _sizes = new();

    // Every layer, and every module inside one, is the library's own: none keeps a tensor it was given or made past its forward.
    private readonly bool _libraryOnly;

    /// <summary>How many layers each step runs (1 where nothing fuses), in order.</summary>
    public IEnumerable<int> StepSizes => _steps.Select(s => s.Count);

    /// <summary>The layers' forward, fused where the pass grouped them and no layer of a group has a forward hook.</summary>
    public Tensor Forward(Tensor input) => Run(input, null);

    /// <summary>
    /// relu(the layers' forward + <paramref name="skip"/>): a residual body's layers, whose last convolution adds the skip and
    /// rectifies in its epilogue where it can (<see cref="ConvBlock.ForwardAddRelu"/>), else the add and ReLU as one op after it.
    /// </summary>
    public Tensor ForwardAddRelu(Tensor input, Tensor skip) => Run(input, skip);

    private Tensor Run(Tensor input, Tensor? skip)
    {
        if (skip is not null || Slices(input) is not ({ } steps, var slice)) return Steps(input, skip, 0, _steps.Count);
        var sliced = BatchSlices.Run(input, slice, x => Steps(x, null, 0, steps));
        return steps == _steps.Count ? sliced : Steps(sliced, null, steps, _steps.Count);
    }

    // The steps that run a slice of images at a time and the images a slice (BatchSlices.Plan), or null: the whole batch at
    // once. From one image's outputs of each step, measured once per image shape so that every call of that shape runs alike.
    private (int Steps, int Images)? Slices(Tensor input)
    {
        if (input.Rank < 2 || input.Shape[0] < 2 || Autograd.IsGradEnabled || !_libraryOnly || !_perImage) return null;
        string key = Shape.Format(input.Shape[1..]);
        if (!_sizes.TryGetValue(key, out var sizes))
        {
            // One image through a batch norm in training mode would update its statistics: measured in eval mode only.
            if (!Quiet()) return null;
            sizes = new long[_steps.Count];
            Steps(input.Slice(0, 1), null, 0, _steps.Count, sizes);
            _sizes[key] = sizes;
        }
        // Most batches are too small to slice: only those that are walk the modules for their mode and hooks.
        return BatchSlices.Plan(sizes, input.Shape[0]) is { } plan && Quiet() ? plan : null;
    }

    private bool Quiet()
    {
        foreach (var layer in _layers)
            if (!BatchSlices.Quiet(layer)) return false;
        return true;
    }

    // Steps [first, end) in order; `sizes` (where not null) takes the floats of each one's output.
    private Tensor Steps(Tensor input, Tensor? skip, int first, int end, long[]? sizes = null)
    {
        var x = input;
        bool recycle = _libraryOnly && !Autograd.IsGradEnabled, hooked = true;
        for (int s = first; s < end; s++)
        {
            var (start, count, fused, block) = _steps[s];
            var before = x;
            bool hooks = AnyHooks(start, count), last = s == end - 1;
            if (last && skip is not null && !hooks && block?.ForwardAddRelu(x, skip) is { } added) x = added;
            else
            {
                if (fused is not null && !hooks) x = fused(x);
                else
                    for (int i = start; i < start + count; i++) x = _layers[i].Forward(x);
                if (last && skip is not null) x = AddRelu(x, skip);
            }
            // Under no-grad an intermediate made by the step before is dead once this step has read it (no graph keeps it),
            // unless a hook in either step saw it (at any depth: a block's first layer sees the block's input) or this step's
            // output shares its buffer (a view): its buffer goes back to the cache now, while its lines are still in cache,
            // instead of after the next collection.
            bool seen = recycle && HooksWithin(start, count);
            if (recycle && before != input && !hooked && !seen && !ReferenceEquals(before.Buffer, x.Buffer)) before.RecycleStorage();
            hooked = seen;
            if (sizes is not null) sizes[s] = x.Numel;
        }
        if (_steps.Count == 0 && skip is not null) x = AddRelu(x, skip);
        return x;
    }

    // The unfused residual add: the shapes checked as the Residual checks them, then relu(main + skip) as one op.
    private static Tensor AddRelu(Tensor main, Tensor skip)
    {
        Residual.CheckBranches(main, skip);
        return Functional.AddRelu(main, skip);
    }

    // relu(body(x) + shortcut(x)). With no hook anywhere in the block, the shortcut runs first so that the body's last layers
    // can add it as they finish (a convolution's epilogue in inference, a batch norm's pass in training). In training only
    // where the shortcut draws no random numbers (none, or convolutions and batch norms), so that the order changes no value.
    private static Tensor ResidualAddRelu(Residual residual, Tensor x)
    {
        if (residual.Body is Sequential { Fuse: true } body && !residual.HasForwardHooksWithin()
            && (!Autograd.IsGradEnabled || residual.Shortcut is null || Deterministic(residual.Shortcut)))
            return body.ForwardAddRelu(x, residual.Shortcut is null ? x : residual.Shortcut.Forward(x));
        var (main, skip) = residual.Branches(x);
        return Functional.AddRelu(main, skip);
    }

    private static bool Deterministic(Module shortcut) =>
        shortcut.NamedModules().All(m => m.Module is Conv2d or BatchNorm2d or Sequential);

    private bool AnyHooks(int start, int count)
    {
        for (int i = start; i < start + count; i++)
            if (_layers[i].HasForwardHooks) return true;
        return false;
    }

    private bool HooksWithin(int start, int count)
    {
        for (int i = start; i < start + count; i++)
            if (_layers[i].HasForwardHooksWithin()) return true;
        return false;
    }

    private static (int Count, Func<Tensor, Tensor>? Fused, ConvBlock? Block) Match(IReadOnlyList<Module> layers, int i)
    {
        Module? At(int k) => i + k < layers.Count ? layers[i + k] : null;
        if (At(0) is Conv2d conv)
        {
            int k = 1;
            var bn = At(k) as BatchNorm2d;
            if (bn is not null) k++;
            if (BlockActivations.For(At(k)) is not null)
            {
                var pooled = At(k + 1) is AvgPool2d or MaxPool2d ? At(k + 1) : null;
                var activated = new ConvBlock(conv, bn, false, null, At(k), pooled);
                return (pooled is null ? k + 1 : k + 2, activated.Forward, activated);
            }
            bool relu = At(k) is ReLU;
            if (relu) k++;
            var pool = relu ? At(k) as MaxPool2d : null;
            if (pool is not null) k++;
            var block = new ConvBlock(conv, bn, relu, pool);
            return (k, k > 1 ? block.Forward : null, block);
        }
        if (At(0) is BatchNorm2d norm && At(1) is ReLU && At(2) is MaxPool2d after)
            return (3, x => ConvBlock.BatchNormReluMaxPool(norm, after, x), null);
        if (At(0) is Residual residual && At(1) is ReLU) return (2, x => ResidualAddRelu(residual, x), null);
        return (1, null, null);
    }
}
