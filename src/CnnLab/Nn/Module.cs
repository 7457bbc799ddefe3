using System.Text;
using CnnLab.Tensors;

namespace CnnLab.Nn;

/// <summary>
/// Base of every layer and model. Parameters, buffers and child modules are registered once, by
/// name; <see cref="NamedParameters"/>, <see cref="StateDict"/>, optimizers and checkpoints all
/// derive from that registry, with PyTorch's dotted names ("0.weight", "features.3.bias").
/// </summary>
/// <remarks>PyTorch: <c>torch.nn.Module</c>. Subclasses implement <see cref="ForwardCore"/>;
/// callers use <see cref="Forward"/>, which runs the forward hooks on every call so that nothing
/// (the lab, the init doctor, a user) can miss a layer's activations.</remarks>
public abstract class Module
{
    private readonly List<(string Name, Parameter Value)> _parameters = [];
    private readonly List<(string Name, Tensor Value)> _buffers = [];
    private readonly List<(string Name, Module Value)> _children = [];
    private readonly List<Func<Module, Tensor, Tensor, Tensor?>> _forwardHooks = [];

    /// <summary>True in training mode (dropout active, batch norm uses batch statistics).</summary>
    public bool Training { get; private set; } = true;

    /// <summary>Runs the layer on <paramref name="input"/>, then every forward hook (which may replace the output).</summary>
    public Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var output = ForwardCore(input);
        if (_forwardHooks.Count == 0) return output;
        foreach (var hook in _forwardHooks.ToArray())
        {
            var replaced = hook(this, input, output);
            if (replaced is not null) output = replaced;
        }
        return output;
    }

    /// <summary>The layer's computation; called only through <see cref="Forward"/>.</summary>
    protected abstract Tensor ForwardCore(Tensor input);

    /// <summary>
    /// Registers hook(module, input, output), called after every forward of this module. Returning a
    /// tensor replaces the output; returning null keeps it. Dispose the handle to remove the hook.
    /// </summary>
    public IDisposable RegisterForwardHook(Func<Module, Tensor, Tensor, Tensor?> hook)
    {
        _forwardHooks.Add(hook);
        return new HookHandle(() => _forwardHooks.Remove(hook));
    }

    /// <summary>True when a forward hook is registered on this module (not its children).</summary>
    public bool HasForwardHooks => _forwardHooks.Count > 0;

    // True when this module or one inside it has a forward hook (walked without the enumerators NamedModules allocates: the
    // fusion pass asks this for every step of every inference forward).
    internal bool HasForwardHooksWithin()
    {
        if (_forwardHooks.Count > 0) return true;
        foreach (var (_, child) in _children)
            if (child.HasForwardHooksWithin()) return true;
        return false;
    }

    /// <summary>
    /// True when this module, one inside it, or one of their parameters has a hook: a hook may keep a tensor
    /// past its step, so a training loop recycles buffers through a <see cref="TensorArena"/> only without one.
    /// </summary>
    public bool HasAnyHooks => NamedModules().Any(m => m.Module.HasForwardHooks) || Parameters().Any(p => p.HasHooks);

    /// <summary>Registers an observing forward hook.</summary>
    public IDisposable RegisterForwardHook(Action<Module, Tensor, Tensor> hook) =>
        RegisterForwardHook((m, i, o) => { hook(m, i, o); return null; });

    // ---- registry -------------------------------------------------------------------------

    /// <summary>Registers a learnable parameter under <paramref name="name"/> and returns it.</summary>
    protected Parameter RegisterParameter(string name, Parameter parameter)
    {
        CheckNewName(name);
        parameter.WatchWrites();
        _parameters.Add((name, parameter));
        return parameter;
    }

    /// <summary>Registers a persistent non-learnable tensor (e.g. running_mean) that is saved in the state dict.</summary>
    protected Tensor RegisterBuffer(string name, Tensor buffer)
    {
        CheckNewName(name);
        buffer.WatchWrites();
        _buffers.Add((name, buffer));
        return buffer;
    }

    /// <summary>Registers a child module under <paramref name="name"/> and returns it.</summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        CheckNewName(name);
        _children.Add((name, module));
        return module;
    }

    private void CheckNewName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentException($"invalid name '{name}': names must be non-empty and contain no '.'");
        if (_parameters.Any(p => p.Name == name) || _buffers.Any(b => b.Name == name) || _children.Any(c => c.Name == name))
            throw new ArgumentException($"'{name}' is already registered in {GetType().Name}");
    }

    /// <summary>Replaces the tensor of a registered parameter (used by initializers that need a new shape-compatible tensor).</summary>
    protected void ReplaceParameter(string name, Parameter parameter)
    {
        int i = _parameters.FindIndex(p => p.Name == name);
        if (i < 0) throw new ArgumentException($"no parameter '{name}' in {GetType().Name}");
        parameter.WatchWrites();
        _parameters[i] = (name, parameter);
    }

    /// <summary>Direct children with their names.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren() => _children.Select(c => (c.Name, c.Value));

    /// <summary>Direct children.</summary>
    public IEnumerable<Module> Children() => _children.Select(c => c.Value);

    /// <summary>This module ("") and every descendant, depth-first, with dotted names.</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        yield return (prefix, this);
        foreach (var (name, child) in _children)
            foreach (var item in child.NamedModules(Join(prefix, name)))
                yield return item;
    }

    /// <summary>Every parameter of this module and its descendants, with dotted names, in registration order.</summary>
    public IEnumerable<(string Name, Parameter Parameter)> NamedParameters(string prefix = "")
    {
        foreach (var (name, p) in _parameters) yield return (Join(prefix, name), p);
        foreach (var (name, child) in _children)
            foreach (var item in child.NamedParameters(Join(prefix, name)))
                yield return item;
    }

    /// <summary>Every parameter (for optimizers).</summary>
    public IEnumerable<Parameter> Parameters() => NamedParameters().Select(p => p.Parameter);

    /// <summary>Every buffer of this module and its descendants, with dotted names.</summary>
    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers(string prefix = "")
    {
        foreach (var (name, b) in _buffers) yield return (Join(prefix, name), b);
        foreach (var (name, child) in _children)
            foreach (var item in child.NamedBuffers(Join(prefix, name)))
                yield return item;
    }

    /// <summary>This module's own parameters (not its children's).</summary>
    public IEnumerable<(string Name, Parameter Parameter)> OwnParameters() => _parameters.Select(p => (p.Name, p.Value));

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;

    // ---- state -----------------------------------------------------------------------------

    /// <summary>
    /// Parameters and buffers by dotted name, in PyTorch's order (each module's parameters, then its
    /// buffers, then its children). The tensors are the live ones, not copies.
    /// </summary>
    public OrderedDictionary<string, Tensor> StateDict()
    {
        var dict = new OrderedDictionary<string, Tensor>();
        AddState(dict, "");
        return dict;
    }

    private void AddState(OrderedDictionary<string, Tensor> dict, string prefix)
    {
        foreach (var (name, p) in _parameters) dict.Add(Join(prefix, name), p);
        foreach (var (name, b) in _buffers) dict.Add(Join(prefix, name), b);
        foreach (var (name, child) in _children) child.AddState(dict, Join(prefix, name));
    }

    // Up to ten names and how many more: a message stays one readable line for any number of keys.
    private static string Some(List<string> names) =>
        string.Join(", ", names.Take(10)) + (names.Count > 10 ? $" and {names.Count - 10:N0} more" : "");

    /// <summary>
    /// Copies values into this module's parameters and buffers by name. With <paramref name="strict"/>,
    /// missing and unexpected keys are an error (the first ten of each are listed); shapes must always match.
    /// </summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state, bool strict = true)
    {
        var own = StateDict();
        var missing = own.Keys.Where(k => !state.ContainsKey(k)).ToList();
        var unexpected = state.Keys.Where(k => !own.ContainsKey(k)).ToList();
        if (strict && (missing.Count > 0 || unexpected.Count > 0))
            throw new ArgumentException("error loading state dict: "
                + (missing.Count > 0 ? $"missing keys: {Some(missing)}. " : "")
                + (unexpected.Count > 0 ? $"unexpected keys: {Some(unexpected)}." : ""));
        foreach (var (key, target) in own)
        {
            if (!state.TryGetValue(key, out var source)) continue;
            if (!Shape.Equal(source.Shape, target.Shape) && !(source.Numel == 1 && target.Numel == 1))
                throw new ArgumentException(
                    $"size mismatch for {key}: checkpoint has shape {Shape.Format(source.Shape)}, the model has {Shape.Format(target.Shape)}");
            source.Elements.CopyTo(target.Elements);
            target.NoteWrite();
        }
    }

    // ---- modes and grads ----------------------------------------------------------------------

    /// <summary>Sets training mode on this module and all descendants; returns this. Training ends a <see cref="Freeze"/>.</summary>
    public Module Train(bool mode = true)
    {
        Training = mode;
        if (mode) SetFrozenEpoch(0);
        foreach (var (_, child) in _children) child.Train(mode);
        return this;
    }

    /// <summary>
    /// Eval mode, and a promise that the parameters and buffers keep their values until <see cref="Unfreeze"/> or
    /// <see cref="Train"/>: what inference prepares from them (a convolution's packed or transformed weights, a batch norm
    /// folded into its convolution) is checked against them once, not on every call, even for tensors whose storage was
    /// handed out (<see cref="Tensor.Data"/>; eval mode alone checks the others once after each write too). An optimizer step,
    /// <see cref="LoadStateDict"/> or an initializer on a frozen model is seen (what it wrote is checked once more); a write through
    /// <see cref="Tensor.Data"/> or <see cref="Tensor.Storage"/> is not, until <see cref="Unfreeze"/>. The promise belongs to
    /// the storage: a parameter shared with another model, or tied to another parameter, is frozen there too. Returns this.
    /// Not to be confused with <c>RequiresGrad_(false)</c>, which freezes parameters for fine-tuning.
    /// </summary>
    /// <remarks>PyTorch: <c>torch.jit.freeze</c>, which turns a module's parameters into constants (as an ONNX Runtime session
    /// holds them).</remarks>
    public Module Freeze()
    {
        Eval();
        long epoch = Tensor.NewEpoch();
        foreach (var (_, child) in NamedModules()) child.SetFrozenEpoch(epoch);
        return this;
    }

    /// <summary>
    /// Ends <see cref="Freeze"/>: prepared weights are checked after each write the library makes or sees again, and compared on
    /// every call where the storage was handed out (<see cref="Tensor.Data"/>). Returns this.
    /// </summary>
    public Module Unfreeze()
    {
        foreach (var (_, child) in NamedModules()) child.SetFrozenEpoch(0);
        return this;
    }

    /// <summary>Whether every parameter and buffer of this module and its descendants is frozen (<see cref="Freeze"/>).</summary>
    public bool IsFrozen => StateDict().Values.All(t => t.FrozenEpoch != 0);

    private void SetFrozenEpoch(long epoch)
    {
        foreach (var (_, p) in _parameters) p.FrozenEpoch = epoch;
        foreach (var (_, b) in _buffers) b.FrozenEpoch = epoch;
    }

    /// <summary>Evaluation mode (same as <c>Train(false)</c>).</summary>
    public Module Eval() => Train(false);

    /// <summary>Clears the gradients of every parameter.</summary>
    public void ZeroGrad(bool setToNone = true)
    {
        foreach (var p in Parameters()) p.ZeroGrad(setToNone);
    }

    /// <summary>Layer options for <see cref="ToString"/>, e.g. "1, 32, kernel_size=(3, 3)".</summary>
    protected virtual string ExtraRepr() => "";

    /// <summary>PyTorch-style nested description of the module.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(GetType().Name).Append('(').Append(ExtraRepr());
        if (_children.Count > 0)
        {
            sb.Append('\n');
            foreach (var (name, child) in _children)
            {
                var text = child.ToString().Replace("\n", "\n  ");
                sb.Append("  (").Append(name).Append("): ").Append(text).Append('\n');
            }
        }
        return sb.Append(')').ToString();
    }
}
