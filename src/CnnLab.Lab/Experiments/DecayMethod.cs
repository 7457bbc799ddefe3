using CnnLab.Optim;

namespace CnnLab.Lab.Experiments;

/// <summary>The three ways of regularizing Adam compared by <see cref="AdamVsAdamWExperiment"/>.</summary>
internal enum DecayMethod
{
    /// <summary>Adam with L2 added to the gradient (<c>Adam(weightDecay: λ)</c>): the decay is divided by √v̂.</summary>
    AdamL2,

    /// <summary>PyTorch's AdamW: θ ← θ·(1 − lr_t·λ).</summary>
    AdamWTorch,

    /// <summary>The paper's AdamW (Loshchilov and Hutter 2019, Algorithm 2): θ ← θ·(1 − η_t·λ), η_t the schedule multiplier.</summary>
    AdamWPaper,
}

/// <summary>Names and optimizers of <see cref="DecayMethod"/>.</summary>
internal static class DecayMethods
{
    public static readonly DecayMethod[] All = [DecayMethod.AdamL2, DecayMethod.AdamWTorch, DecayMethod.AdamWPaper];

    public static string Label(DecayMethod m) => m switch
    {
        DecayMethod.AdamL2 => "Adam + L2",
        DecayMethod.AdamWTorch => "AdamW (PyTorch form)",
        _ => "AdamW (paper form)",
    };

    public static string Key(DecayMethod m) => m switch
    {
        DecayMethod.AdamL2 => "adam_l2",
        DecayMethod.AdamWTorch => "adamw_torch",
        _ => "adamw_paper",
    };

    /// <summary>The optimizer over <paramref name="groups"/> ([decay, no_decay]) with decay coefficient <paramref name="lambda"/>.</summary>
    public static Optimizer Create(DecayMethod m, IEnumerable<ParamGroup> groups, double lr, double lambda) => m switch
    {
        DecayMethod.AdamL2 => new Adam(groups, lr, weightDecay: lambda),
        DecayMethod.AdamWTorch => new AdamW(groups, lr, weightDecay: lambda, decay: DecoupledDecay.LrScaled),
        _ => new AdamW(groups, lr, weightDecay: lambda, decay: DecoupledDecay.ScheduleScaled),
    };
}
