using CnnLab.Nn;
using CnnLab.Tensors;

namespace CnnLab.Optim;

/// <summary>
/// Builds the two usual parameter groups: <c>"decay"</c> (weights of Linear/Conv layers, decayed) and
/// <c>"no_decay"</c> (weight decay 0). The rule: a parameter is NOT decayed when its name ends in
/// <c>bias</c> or its rank is ≤ 1 — biases and the scale/shift of normalization layers (BatchNorm's
/// <c>weight</c> and <c>bias</c> are vectors of length C). Decaying those only pulls the normalized
/// activations' scale toward zero and fights the normalization, with no regularizing benefit.
/// </summary>
/// <remarks>PyTorch: no built-in; this is the common recipe (e.g. minGPT's <c>configure_optimizers</c>,
/// timm's <c>param_groups_weight_decay</c>, which also uses "rank ≤ 1 or name ends in bias").</remarks>
public static class WeightDecayGroups
{
    /// <summary>True when the parameter should be decayed: rank ≥ 2 and its name does not end in "bias".</summary>
    public static bool ShouldDecay(string name, Tensor parameter)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(parameter);
        return parameter.Rank > 1 && !name.EndsWith("bias", StringComparison.Ordinal);
    }

    /// <summary>The module's parameters split into [decay, no_decay] (both always present, possibly empty).
    /// <paramref name="weightDecay"/> sets the decay group's λ; null keeps the optimizer's default.</summary>
    public static ParamGroup[] Split(Module module, double? weightDecay = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        return Split(module.NamedParameters().Select(p => (p.Name, (Tensor)p.Parameter)), weightDecay);
    }

    /// <summary>Named parameters split into [decay, no_decay] by <see cref="ShouldDecay"/>.</summary>
    public static ParamGroup[] Split(IEnumerable<(string Name, Tensor Parameter)> namedParameters, double? weightDecay = null)
    {
        ArgumentNullException.ThrowIfNull(namedParameters);
        var decay = new List<Tensor>();
        var noDecay = new List<Tensor>();
        foreach (var (name, p) in namedParameters) (ShouldDecay(name, p) ? decay : noDecay).Add(p);
        return [new ParamGroup(decay, weightDecay: weightDecay, name: "decay"), new ParamGroup(noDecay, weightDecay: 0, name: "no_decay")];
    }
}
