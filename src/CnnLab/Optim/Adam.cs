using CnnLab.Kernels;
using CnnLab.Tensors;

namespace CnnLab.Optim;

/// <summary>
/// Hyper-parameters of <see cref="Adam"/> and <see cref="AdamW"/> (PyTorch's keys: lr, betas, eps, weight_decay, amsgrad, maximize).
/// </summary>
public class AdamOptions : OptimizerOptions, IMomentumOptions
{
    /// <summary>β1, decay rate of the first-moment average.</summary>
    public double Beta1 { get; set; }

    /// <summary>β2, decay rate of the second-moment average.</summary>
    public double Beta2 { get; set; }

    /// <summary>ε added to the denominator for numerical stability.</summary>
    public double Eps { get; set; }

    /// <summary>Use AMSGrad's running maximum of the second moment.</summary>
    public bool Amsgrad { get; set; }

    /// <summary>Maximize the objective instead of minimizing it.</summary>
    public bool Maximize { get; set; }

    double IMomentumOptions.Momentum { get => Beta1; set => Beta1 = value; }

    /// <inheritdoc/>
    public override void Validate()
    {
        if (!(Lr >= 0)) throw new ArgumentException($"Invalid learning rate: {Format(Lr)}");
        if (!(Eps >= 0)) throw new ArgumentException($"Invalid epsilon value: {Format(Eps)}");
        if (!(Beta1 >= 0 && Beta1 < 1)) throw new ArgumentException($"Invalid beta parameter at index 0: {Format(Beta1)}");
        if (!(Beta2 >= 0 && Beta2 < 1)) throw new ArgumentException($"Invalid beta parameter at index 1: {Format(Beta2)}");
        if (!(WeightDecay >= 0)) throw new ArgumentException($"Invalid weight_decay value: {Format(WeightDecay)}");
    }

    /// <inheritdoc/>
    protected override void Write(Dictionary<string, object> d)
    {
        d["betas"] = new[] { Beta1, Beta2 }; d["eps"] = Eps; d["amsgrad"] = Amsgrad; d["maximize"] = Maximize;
    }

    /// <inheritdoc/>
    protected override void Read(IReadOnlyDictionary<string, object> d)
    {
        if (d.TryGetValue("betas", out var b))
        {
            var betas = ToDoubles(b, "betas");
            if (betas.Length != 2) throw new ArgumentException($"optimizer option 'betas' must hold 2 numbers, got {betas.Length}");
            (Beta1, Beta2) = (betas[0], betas[1]);
        }
        if (d.TryGetValue("eps", out var e)) Eps = ToDouble(e, "eps");
        if (d.TryGetValue("amsgrad", out var a)) Amsgrad = ToBool(a, "amsgrad");
        if (d.TryGetValue("maximize", out var x)) Maximize = ToBool(x, "maximize");
    }
}

/// <summary>
/// Adam: momentum on the gradient plus RMSprop's per-coordinate scaling, with bias correction.
/// For each parameter with a gradient, at step t:
/// <code>
/// 1. g ← ∇f(θ)                     (−∇f(θ) if maximize)
/// 2. g ← g + λ·θ                   if λ ≠ 0  (L2 coupled to the gradient: it is then divided by √v̂ like
///                                             the loss gradient, so large-gradient weights decay less)
/// 3. m ← β1·m + (1 − β1)·g;   v ← β2·v + (1 − β2)·g²
/// 4. v̂ ← max(v̂max, v) if amsgrad (kept in max_exp_avg_sq), else v
/// 5. θ ← θ − (lr / (1 − β1ᵗ)) · m / (√v̂ / √(1 − β2ᵗ) + ε)
/// </code>
/// Defaults (PyTorch's): lr 1e-3, betas (0.9, 0.999), eps 1e-8, weightDecay 0, amsgrad false, maximize false.
/// State: <c>step</c>, <c>exp_avg</c>, <c>exp_avg_sq</c> (+ <c>max_exp_avg_sq</c>). Bias corrections are
/// computed in double and rounded to float32 where PyTorch does.
/// Paper: Kingma and Ba, "Adam: A Method for Stochastic Optimization", 2014, arXiv:1412.6980;
/// AMSGrad: Reddi, Kale and Kumar, "On the Convergence of Adam and Beyond", ICLR 2018, arXiv:1904.09237.
/// </summary>
/// <remarks>PyTorch: <c>torch.optim.Adam</c> (1.13, <c>_single_tensor_adam</c>), same operation order
/// (see <see cref="OptimizerKernels.Adam"/>). For true weight decay use <see cref="AdamW"/>.</remarks>
public sealed class Adam : Optimizer
{
    /// <summary>PyTorch's default lr.</summary>
    public const double DefaultLr = 1e-3;
    /// <summary>PyTorch's default β1.</summary>
    public const double DefaultBeta1 = 0.9;
    /// <summary>PyTorch's default β2.</summary>
    public const double DefaultBeta2 = 0.999;
    /// <summary>PyTorch's default ε.</summary>
    public const double DefaultEps = 1e-8;
    /// <summary>PyTorch's default weight decay for Adam.</summary>
    public const double DefaultWeightDecay = 0;

    /// <summary>Adam over <paramref name="parameters"/> in one group; <paramref name="betas"/> null means (0.9, 0.999).</summary>
    public Adam(IEnumerable<Tensor> parameters, double lr = DefaultLr, (double Beta1, double Beta2)? betas = null,
        double eps = DefaultEps, double weightDecay = DefaultWeightDecay, bool amsgrad = false, bool maximize = false)
        : this(SingleGroup(parameters), lr, betas, eps, weightDecay, amsgrad, maximize) { }

    /// <summary>Adam over <paramref name="groups"/>; the arguments are the defaults for options a group does not set.</summary>
    public Adam(IEnumerable<ParamGroup> groups, double lr = DefaultLr, (double Beta1, double Beta2)? betas = null,
        double eps = DefaultEps, double weightDecay = DefaultWeightDecay, bool amsgrad = false, bool maximize = false)
        : base(groups, new AdamOptions
        {
            Lr = lr, Beta1 = (betas ?? (DefaultBeta1, DefaultBeta2)).Beta1, Beta2 = (betas ?? (DefaultBeta1, DefaultBeta2)).Beta2,
            Eps = eps, WeightDecay = weightDecay, Amsgrad = amsgrad, Maximize = maximize,
        })
    { }

    /// <inheritdoc/>
    protected override void Update(ParamGroup group, Tensor param, Tensor grad, ParamState state) =>
        Apply((AdamOptions)group.Options, param, grad, state, paramScale: 1f, coupledDecay: (float)group.WeightDecay);

    /// <summary>One Adam step; <paramref name="paramScale"/> is AdamW's decoupled factor (1 for Adam),
    /// <paramref name="coupledDecay"/> Adam's L2 coefficient (0 for AdamW).</summary>
    internal static void Apply(AdamOptions o, Tensor param, Tensor grad, ParamState state, float paramScale, float coupledDecay)
    {
        var expAvg = state.Buffer("exp_avg", param);
        var expAvgSq = state.Buffer("exp_avg_sq", param);
        var maxExpAvgSq = o.Amsgrad ? state.Buffer("max_exp_avg_sq", param).Elements : default;
        state.Step++;
        double step = state.Step;
        double biasCorrection1 = 1 - Math.Pow(o.Beta1, step);
        double biasCorrection2 = 1 - Math.Pow(o.Beta2, step);
        double stepSize = o.Lr / biasCorrection1;
        double biasCorrection2Sqrt = Math.Sqrt(biasCorrection2);
        OptimizerKernels.Adam(param.Elements, grad.Elements, expAvg.Elements, expAvgSq.Elements, maxExpAvgSq, paramScale, coupledDecay, o.Maximize,
            (float)o.Beta1, (float)(1 - o.Beta1), (float)o.Beta2, (float)(1 - o.Beta2), (float)biasCorrection2Sqrt,
            (float)o.Eps, (float)-stepSize, o.Amsgrad);
    }
}
