using CnnLab.Tensors;

namespace CnnLab.Optim;

/// <summary>
/// Base of the optimizers: parameter groups with their own hyper-parameters, per-parameter state,
/// <see cref="Step"/>, <see cref="ZeroGrad"/> and a state dict for exact resume. Parameters whose
/// <see cref="Tensor.Grad"/> is null are skipped by <see cref="Step"/> (their state does not advance).
/// </summary>
/// <remarks>PyTorch: <c>torch.optim.Optimizer</c>. Differences: options are typed
/// (<see cref="OptimizerOptions"/>); <see cref="StateDict"/> returns copies, not references.</remarks>
public abstract class Optimizer
{
    private readonly List<ParamGroup> _groups = [];
    private readonly Dictionary<Tensor, ParamState> _state = new(ReferenceEqualityComparer.Instance);

    /// <summary>Validates <paramref name="defaults"/> and adds each group.</summary>
    protected Optimizer(IEnumerable<ParamGroup> groups, OptimizerOptions defaults)
    {
        ArgumentNullException.ThrowIfNull(groups);
        ArgumentNullException.ThrowIfNull(defaults);
        defaults.Validate();
        Defaults = defaults;
        foreach (var g in groups) AddParamGroup(g);
        if (_groups.Count == 0) throw new ArgumentException("optimizer got an empty parameter list");
    }

    /// <summary>One group holding every parameter (the common case).</summary>
    protected static IEnumerable<ParamGroup> SingleGroup(IEnumerable<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var group = new ParamGroup(parameters);
        if (group.Params.Count == 0) throw new ArgumentException("optimizer got an empty parameter list");
        return [group];
    }

    /// <summary>The defaults given at construction (groups hold copies).</summary>
    public OptimizerOptions Defaults { get; }

    /// <summary>The parameter groups, in order.</summary>
    public IReadOnlyList<ParamGroup> ParamGroups => _groups;

    /// <summary>Adds a group; its missing options come from <see cref="Defaults"/>.</summary>
    public void AddParamGroup(ParamGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        var seen = new HashSet<Tensor>(_groups.SelectMany(g => g.Params), ReferenceEqualityComparer.Instance);
        foreach (var p in group.Params)
        {
            ArgumentNullException.ThrowIfNull(p);
            if (!seen.Add(p)) throw new ArgumentException("some parameters appear in more than one parameter group");
        }
        group.Adopt(Defaults);
        _groups.Add(group);
    }

    /// <summary>The state of <paramref name="param"/>, or null before its first step.</summary>
    public ParamState? StateOf(Tensor param) => _state.GetValueOrDefault(param);

    /// <summary>Updates every parameter that has a gradient, group by group.</summary>
    public void Step()
    {
        foreach (var group in _groups)
        {
            group.Options.Validate();
            foreach (var p in group.Params)
            {
                var grad = p.Grad;
                if (grad is null) continue;
                if (grad.Numel != p.Numel)
                    throw new InvalidOperationException(
                        $"parameter {p.Name ?? ""} of shape {Shape.Format(p.Shape)} has a gradient of shape {Shape.Format(grad.Shape)}");
                if (!_state.TryGetValue(p, out var state)) _state[p] = state = new ParamState();
                Update(group, p, grad, state);
                p.NoteWrite();
            }
        }
    }

    /// <summary>Applies one step to <paramref name="param"/> (whose grad is <paramref name="grad"/>), incrementing <c>state.Step</c>.</summary>
    protected abstract void Update(ParamGroup group, Tensor param, Tensor grad, ParamState state);

    /// <summary>Clears the gradients of every parameter (to null by default, as PyTorch 2 does; zero-filled otherwise).</summary>
    public void ZeroGrad(bool setToNone = true)
    {
        foreach (var g in _groups)
            foreach (var p in g.Params) p.ZeroGrad(setToNone);
    }

    /// <summary>
    /// A copy of the optimizer's state: per-parameter state keyed by the parameter's index across all
    /// groups in order (PyTorch's packing), and each group's hyper-parameters with its <c>params</c> indices.
    /// </summary>
    public OptimizerStateDict StateDict()
    {
        var sd = new OptimizerStateDict();
        int index = 0;
        foreach (var g in _groups)
        {
            var d = g.Options.ToDictionary();
            if (g.InitialLr is double il) d["initial_lr"] = il;
            var ids = new int[g.Params.Count];
            for (int i = 0; i < ids.Length; i++, index++)
            {
                ids[i] = index;
                if (_state.TryGetValue(g.Params[i], out var s)) sd.State[index] = s.Clone();
            }
            d["params"] = ids;
            sd.ParamGroups.Add(d);
        }
        return sd;
    }

    /// <summary>Restores state and group hyper-parameters saved by <see cref="StateDict"/> (copied in).
    /// The groups must have the same sizes, and each buffer the parameter's element count.</summary>
    public void LoadStateDict(OptimizerStateDict stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        if (stateDict.ParamGroups.Count != _groups.Count)
            throw new ArgumentException($"loaded state dict has {stateDict.ParamGroups.Count} parameter groups, the optimizer has {_groups.Count}");
        var all = new List<Tensor>();
        for (int gi = 0; gi < _groups.Count; gi++)
        {
            var saved = stateDict.ParamGroups[gi];
            int count = saved.TryGetValue("params", out var ids) ? OptimizerStateDict.ParamIndices(ids).Length : -1;
            if (count != _groups[gi].Params.Count)
                throw new ArgumentException($"loaded state dict contains a parameter group {gi} of {count} parameters "
                    + $"that doesn't match the size of optimizer's group ({_groups[gi].Params.Count})");
            all.AddRange(_groups[gi].Params);
        }
        foreach (var (index, s) in stateDict.State)
        {
            if (index < 0 || index >= all.Count)
                throw new ArgumentException($"state for parameter {index}, but the optimizer has {all.Count} parameters");
            foreach (var (name, buf) in s.Buffers)
                if (buf.Numel != all[index].Numel)
                    throw new ArgumentException(
                        $"state.{index}.{name} has shape {Shape.Format(buf.Shape)}, parameter {index} has shape {Shape.Format(all[index].Shape)}");
        }
        for (int gi = 0; gi < _groups.Count; gi++)
        {
            var saved = stateDict.ParamGroups[gi];
            var options = _groups[gi].Options.Clone();
            options.LoadDictionary(saved);
            options.Validate();
            _groups[gi].Options.LoadDictionary(saved);
            _groups[gi].InitialLr = saved.TryGetValue("initial_lr", out var il) ? OptimizerOptions.ToDouble(il, "initial_lr") : null;
        }
        _state.Clear();
        foreach (var (index, s) in stateDict.State)
        {
            var copy = new ParamState { Step = s.Step };
            foreach (var (name, buf) in s.Buffers)
            {
                var t = all[index].ZerosLike();
                buf.Elements.CopyTo(t.Elements);
                copy.Buffers.Add(name, t);
            }
            _state[all[index]] = copy;
        }
    }
}
