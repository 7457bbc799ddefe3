using CnnLab.Optim;
using CnnLab.Tensors;

namespace CnnLab.Lab.Experiments;

/// <summary>The six optimizers compared by <see cref="OptimizersExperiment"/>, built from CnnLab's own classes.</summary>
internal enum OptimizerKind { Sgd, Momentum, Nesterov, RMSprop, Adam, AdamW }

/// <summary>Labels and constructors of <see cref="OptimizerKind"/>: momentum 0.9 for the SGD variants, PyTorch's
/// defaults otherwise (RMSprop α 0.99; Adam β (0.9, 0.999); AdamW λ 1e-2).</summary>
internal static class OptimizerKinds
{
    public static readonly OptimizerKind[] All =
        [OptimizerKind.Sgd, OptimizerKind.Momentum, OptimizerKind.Nesterov, OptimizerKind.RMSprop, OptimizerKind.Adam, OptimizerKind.AdamW];

    public static string Label(OptimizerKind k) => k switch
    {
        OptimizerKind.Sgd => "SGD",
        OptimizerKind.Momentum => "SGD+momentum",
        OptimizerKind.Nesterov => "Nesterov",
        OptimizerKind.RMSprop => "RMSprop",
        OptimizerKind.Adam => "Adam",
        _ => "AdamW",
    };

    public static Optimizer Create(OptimizerKind k, IEnumerable<Tensor> parameters, double lr) => k switch
    {
        OptimizerKind.Sgd => new SGD(parameters, lr),
        OptimizerKind.Momentum => new SGD(parameters, lr, momentum: 0.9),
        OptimizerKind.Nesterov => new SGD(parameters, lr, momentum: 0.9, nesterov: true),
        OptimizerKind.RMSprop => new RMSprop(parameters, lr),
        OptimizerKind.Adam => new Adam(parameters, lr),
        _ => new AdamW(parameters, lr),
    };
}
