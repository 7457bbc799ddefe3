using CnnLab.Tensors;

namespace CnnLab.Optim;

/// <summary>
/// A set of parameters that share hyper-parameters. Options not given here come from the
/// optimizer's defaults when the group is added to it.
/// </summary>
/// <remarks>PyTorch: one dict of <c>optimizer.param_groups</c> (<c>{"params": [...], "lr": ..., ...}</c>).</remarks>
public sealed class ParamGroup
{
    private readonly double? _lr, _weightDecay;
    private OptimizerOptions? _options;

    /// <summary>A group of <paramref name="parameters"/>; <paramref name="lr"/> and <paramref name="weightDecay"/>
    /// override the optimizer's defaults; <paramref name="options"/> (cloned) replaces all of them.</summary>
    public ParamGroup(IEnumerable<Tensor> parameters, double? lr = null, double? weightDecay = null,
        OptimizerOptions? options = null, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Params = parameters.ToList();
        _lr = lr;
        _weightDecay = weightDecay;
        _options = options?.Clone();
        Name = name;
    }

    /// <summary>The parameters, in order.</summary>
    public IReadOnlyList<Tensor> Params { get; }

    /// <summary>An optional label ("decay", "no_decay").</summary>
    public string? Name { get; }

    /// <summary>This group's hyper-parameters (its own copy; a scheduler or the user may change them between steps).</summary>
    public OptimizerOptions Options =>
        _options ?? throw new InvalidOperationException("the group's options are set when it is added to an optimizer");

    /// <summary>The learning rate (shortcut for <c>Options.Lr</c>).</summary>
    public double Lr { get => Options.Lr; set => Options.Lr = value; }

    /// <summary>The weight decay (shortcut for <c>Options.WeightDecay</c>).</summary>
    public double WeightDecay { get => Options.WeightDecay; set => Options.WeightDecay = value; }

    /// <summary>The lr the first scheduler found (PyTorch's <c>initial_lr</c>, set with <c>setdefault</c>);
    /// null until a scheduler is attached. Schedulers use it as their base lr; <see cref="AdamW"/>'s
    /// schedule-scaled decay uses η_t = Lr / InitialLr.</summary>
    public double? InitialLr { get; set; }

    private bool _adopted;

    /// <summary>Fills the options from <paramref name="defaults"/> and the overrides, and validates them.</summary>
    internal void Adopt(OptimizerOptions defaults)
    {
        if (_adopted) throw new ArgumentException("this parameter group already belongs to an optimizer");
        if (_options is not null && _options.GetType() != defaults.GetType())
            throw new ArgumentException($"group options are {_options.GetType().Name}, the optimizer needs {defaults.GetType().Name}");
        _options ??= defaults.Clone();
        if (_lr is double lr) _options.Lr = lr;
        if (_weightDecay is double wd) _options.WeightDecay = wd;
        _options.Validate();
        _adopted = true;
    }
}
