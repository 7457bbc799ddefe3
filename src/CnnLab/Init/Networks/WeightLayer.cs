using CnnLab.Nn;

namespace CnnLab.Init.Networks;

/// <summary>
/// A layer with a weight of rank ≥ 2 (Linear, Conv*) as found in a model, with the activation module
/// that follows it in forward order (null for none, e.g. the output layer).
/// </summary>
/// <remarks>PyTorch: no counterpart (what one reads off <c>model.named_modules()</c> by hand).</remarks>
public sealed record WeightLayer(string Name, Module Module, Parameter Weight, Parameter? Bias, ActivationKind? Activation,
    Module? ActivationModule, string? ActivationName)
{
    /// <summary>
    /// The model's weight layers in forward order: depth-first <see cref="Module.NamedModules"/>, each module
    /// with an own parameter "weight" of rank ≥ 2; the activation of each is the first ReLU/LeakyReLU/Tanh/
    /// Sigmoid/GELU/ELU module after it and before the next weight layer (BatchNorm, pooling, dropout in
    /// between are skipped over). Assumes the model runs its modules in registration order, as
    /// <see cref="Sequential"/> does.
    /// </summary>
    public static IReadOnlyList<WeightLayer> Find(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var modules = model.NamedModules().ToList();
        var result = new List<WeightLayer>();
        for (int i = 0; i < modules.Count; i++)
        {
            var (name, module) = modules[i];
            var weight = WeightOf(module);
            if (weight is null) continue;
            ActivationKind? activation = null;
            string? activationName = null;
            Module? activationModule = null;
            for (int j = i + 1; j < modules.Count && WeightOf(modules[j].Module) is null; j++)
            {
                activation = ActivationKind.Of(modules[j].Module);
                if (activation is not null) { (activationName, activationModule) = modules[j]; break; }
            }
            var bias = module.OwnParameters().Where(p => p.Name == "bias").Select(p => p.Parameter).FirstOrDefault();
            result.Add(new WeightLayer(name.Length == 0 ? "(model)" : name, module, weight, bias, activation, activationModule, activationName));
        }
        return result;
    }

    /// <summary>The module's own "weight" parameter if it has rank ≥ 2, else null.</summary>
    public static Parameter? WeightOf(Module module) =>
        module.OwnParameters().Where(p => p.Name == "weight" && p.Parameter.Rank >= 2).Select(p => p.Parameter).FirstOrDefault();

    /// <summary>True for batch-norm layers: a module whose type name starts with "BatchNorm" and that has a 1-D "weight" (γ).</summary>
    public static bool IsBatchNorm(Module module) =>
        module.GetType().Name.StartsWith("BatchNorm", StringComparison.Ordinal)
        && module.OwnParameters().Any(p => p.Name == "weight" && p.Parameter.Rank == 1);

    /// <summary>fan_in of the weight (<see cref="Fan.Compute"/>).</summary>
    public int FanIn => Fan.Compute(Weight.Shape).FanIn;

    /// <summary>fan_out of the weight (<see cref="Fan.Compute"/>).</summary>
    public int FanOut => Fan.Compute(Weight.Shape).FanOut;
}
