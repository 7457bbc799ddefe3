using CnnLab.Tensors;

namespace CnnLab.Optim;

/// <summary>How <see cref="AdamW"/> scales its decoupled weight decay.</summary>
public enum DecoupledDecay
{
    /// <summary>PyTorch's form: θ ← θ·(1 − lr_t·λ). The decay follows the learning rate, so changing
    /// lr also changes the effective regularization.</summary>
    LrScaled,

    /// <summary>The paper's form (Loshchilov and Hutter, Algorithm 2, line 12): θ ← θ·(1 − η_t·λ), where
    /// η_t = lr_t / initial_lr is the schedule multiplier alone (1 without a scheduler). Users ask for it
    /// because λ and lr are then tuned independently: the paper shows the best λ stops depending on lr,
    /// so a sweep over lr does not have to re-tune λ. λ is then the per-step decay fraction at the peak of the
    /// schedule: PyTorch's lr 1e-3 with λ 1e-2 corresponds to λ = 1e-5 here.</summary>
    ScheduleScaled,
}

/// <summary>Hyper-parameters of <see cref="AdamW"/>: <see cref="AdamOptions"/> plus the decay form
/// (key <c>decoupled_decay</c>: "lr" or "schedule"; not in PyTorch).</summary>
public sealed class AdamWOptions : AdamOptions
{
    /// <summary>How the decoupled decay is scaled (default <see cref="DecoupledDecay.LrScaled"/>, PyTorch's).</summary>
    public DecoupledDecay Decay { get; set; }

    /// <inheritdoc/>
    protected override void Write(Dictionary<string, object> d)
    {
        base.Write(d);
        d["decoupled_decay"] = Decay == DecoupledDecay.LrScaled ? "lr" : "schedule";
    }

    /// <inheritdoc/>
    protected override void Read(IReadOnlyDictionary<string, object> d)
    {
        base.Read(d);
        if (d.TryGetValue("decoupled_decay", out var v))
            Decay = ToText(v, "decoupled_decay") switch
            {
                "lr" => DecoupledDecay.LrScaled,
                "schedule" => DecoupledDecay.ScheduleScaled,
                var s => throw new ArgumentException($"optimizer option 'decoupled_decay' must be \"lr\" or \"schedule\", got \"{s}\""),
            };
    }
}

/// <summary>
/// AdamW: Adam with decoupled weight decay. The decay shrinks the weights directly instead of being
/// added to the gradient, so it is not divided by √v̂ and every weight decays at the same rate.
/// For each parameter with a gradient, at step t:
/// <code>
/// 1. g ← ∇f(θ)                     (−∇f(θ) if maximize)
/// 2. θ ← θ·(1 − lr·λ)              (decay = ScheduleScaled: θ ← θ·(1 − η_t·λ), η_t = lr / initial_lr)
/// 3. m ← β1·m + (1 − β1)·g;   v ← β2·v + (1 − β2)·g²
/// 4. v̂ ← max(v̂max, v) if amsgrad, else v
/// 5. θ ← θ − (lr / (1 − β1ᵗ)) · m / (√v̂ / √(1 − β2ᵗ) + ε)
/// </code>
/// With a zero loss gradient a weight shrinks by exactly (1 − lr·λ) per step, whereas Adam's L2 term
/// λθ is normalized by √v̂ ≈ |λθ| and moves the weight by about lr per step whatever λ is.
/// Defaults (PyTorch's): lr 1e-3, betas (0.9, 0.999), eps 1e-8, weightDecay 1e-2, amsgrad false, maximize false.
/// Paper: Loshchilov and Hutter, "Decoupled Weight Decay Regularization", ICLR 2019, arXiv:1711.05101.
/// </summary>
/// <remarks>PyTorch: <c>torch.optim.AdamW</c> (1.13, <c>_single_tensor_adamw</c>) for
/// <see cref="DecoupledDecay.LrScaled"/>; <see cref="DecoupledDecay.ScheduleScaled"/> is CnnLab's addition.</remarks>
public sealed class AdamW : Optimizer
{
    /// <summary>PyTorch's default weight decay for AdamW (Adam's is 0).</summary>
    public const double DefaultWeightDecay = 1e-2;

    /// <summary>AdamW over <paramref name="parameters"/> in one group; <paramref name="betas"/> null means (0.9, 0.999).</summary>
    public AdamW(IEnumerable<Tensor> parameters, double lr = Adam.DefaultLr, (double Beta1, double Beta2)? betas = null,
        double eps = Adam.DefaultEps, double weightDecay = DefaultWeightDecay, bool amsgrad = false, bool maximize = false,
        DecoupledDecay decay = DecoupledDecay.LrScaled)
        : this(SingleGroup(parameters), lr, betas, eps, weightDecay, amsgrad, maximize, decay) { }

    /// <summary>AdamW over <paramref name="groups"/>; the arguments are the defaults for options a group does not set.</summary>
    public AdamW(IEnumerable<ParamGroup> groups, double lr = Adam.DefaultLr, (double Beta1, double Beta2)? betas = null,
        double eps = Adam.DefaultEps, double weightDecay = DefaultWeightDecay, bool amsgrad = false, bool maximize = false,
        DecoupledDecay decay = DecoupledDecay.LrScaled)
        : base(groups, new AdamWOptions
        {
            Lr = lr, Beta1 = (betas ?? (Adam.DefaultBeta1, Adam.DefaultBeta2)).Beta1, Beta2 = (betas ?? (Adam.DefaultBeta1, Adam.DefaultBeta2)).Beta2,
            Eps = eps, WeightDecay = weightDecay, Amsgrad = amsgrad, Maximize = maximize, Decay = decay,
        })
    { }

    /// <inheritdoc/>
    protected override void Update(ParamGroup group, Tensor param, Tensor grad, ParamState state)
    {
        var o = (AdamWOptions)group.Options;
        // PyTorch: param.mul_(1 - lr * weight_decay), the factor computed in double then rounded to float32.
        double rate = o.Decay == DecoupledDecay.LrScaled ? o.Lr : o.Lr / (group.InitialLr ?? o.Lr);
        Adam.Apply(o, param, grad, state, paramScale: (float)(1 - rate * o.WeightDecay), coupledDecay: 0f);
    }
}
