using CnnLab.Kernels;
using CnnLab.Tensors;

namespace CnnLab.Optim;

/// <summary>Hyper-parameters of <see cref="RMSprop"/> (PyTorch's keys: lr, alpha, eps, weight_decay, momentum, centered, maximize).</summary>
public sealed class RMSpropOptions : OptimizerOptions, IMomentumOptions
{
    /// <summary>Smoothing constant α of the squared-gradient average.</summary>
    public double Alpha { get; set; }

    /// <summary>ε added to the denominator.</summary>
    public double Eps { get; set; }

    /// <summary>Momentum factor μ (0: none).</summary>
    public double Momentum { get; set; }

    /// <summary>Normalize by the estimated variance (v − ḡ²) instead of the raw second moment.</summary>
    public bool Centered { get; set; }

    /// <summary>Maximize the objective instead of minimizing it.</summary>
    public bool Maximize { get; set; }

    /// <inheritdoc/>
    public override void Validate()
    {
        if (!(Lr >= 0)) throw new ArgumentException($"Invalid learning rate: {Format(Lr)}");
        if (!(Eps >= 0)) throw new ArgumentException($"Invalid epsilon value: {Format(Eps)}");
        if (!(Momentum >= 0)) throw new ArgumentException($"Invalid momentum value: {Format(Momentum)}");
        if (!(WeightDecay >= 0)) throw new ArgumentException($"Invalid weight_decay value: {Format(WeightDecay)}");
        if (!(Alpha >= 0)) throw new ArgumentException($"Invalid alpha value: {Format(Alpha)}");
    }

    /// <inheritdoc/>
    protected override void Write(Dictionary<string, object> d)
    {
        d["alpha"] = Alpha; d["eps"] = Eps; d["momentum"] = Momentum; d["centered"] = Centered; d["maximize"] = Maximize;
    }

    /// <inheritdoc/>
    protected override void Read(IReadOnlyDictionary<string, object> d)
    {
        if (d.TryGetValue("alpha", out var a)) Alpha = ToDouble(a, "alpha");
        if (d.TryGetValue("eps", out var e)) Eps = ToDouble(e, "eps");
        if (d.TryGetValue("momentum", out var m)) Momentum = ToDouble(m, "momentum");
        if (d.TryGetValue("centered", out var c)) Centered = ToBool(c, "centered");
        if (d.TryGetValue("maximize", out var x)) Maximize = ToBool(x, "maximize");
    }
}

/// <summary>
/// RMSprop: divide the gradient by a running root-mean-square of recent gradients.
/// For each parameter with a gradient:
/// <code>
/// 1. g ← ∇f(θ)                         (−∇f(θ) if maximize)
/// 2. g ← g + λ·θ                       if λ ≠ 0
/// 3. v ← α·v + (1 − α)·g²
/// 4. centered: ḡ ← α·ḡ + (1 − α)·g;  a ← √(v − ḡ²) + ε      otherwise a ← √v + ε
/// 5. μ &gt; 0: b ← μ·b + g/a;  θ ← θ − lr·b                    otherwise θ ← θ − lr·g/a
/// </code>
/// Defaults (PyTorch's): lr 1e-2, alpha 0.99, eps 1e-8, weightDecay 0, momentum 0, centered false, maximize false.
/// State: <c>step</c>, <c>square_avg</c> (+ <c>momentum_buffer</c>, <c>grad_avg</c>).
/// Source: Hinton, Srivastava and Swersky, "Neural Networks for Machine Learning", lecture 6e (2012);
/// centered form: Graves, "Generating Sequences With Recurrent Neural Networks", 2013, arXiv:1308.0850.
/// </summary>
/// <remarks>PyTorch: <c>torch.optim.RMSprop</c> (1.13, <c>_single_tensor_rmsprop</c>), same operation order
/// (see <see cref="OptimizerKernels.RmsProp"/>).</remarks>
public sealed class RMSprop : Optimizer
{
    /// <summary>PyTorch's default lr for RMSprop.</summary>
    public const double DefaultLr = 1e-2;
    /// <summary>PyTorch's default α.</summary>
    public const double DefaultAlpha = 0.99;
    /// <summary>PyTorch's default ε.</summary>
    public const double DefaultEps = 1e-8;

    /// <summary>RMSprop over <paramref name="parameters"/> in one group.</summary>
    public RMSprop(IEnumerable<Tensor> parameters, double lr = DefaultLr, double alpha = DefaultAlpha, double eps = DefaultEps,
        double weightDecay = 0, double momentum = 0, bool centered = false, bool maximize = false)
        : this(SingleGroup(parameters), lr, alpha, eps, weightDecay, momentum, centered, maximize) { }

    /// <summary>RMSprop over <paramref name="groups"/>; the arguments are the defaults for options a group does not set.</summary>
    public RMSprop(IEnumerable<ParamGroup> groups, double lr = DefaultLr, double alpha = DefaultAlpha, double eps = DefaultEps,
        double weightDecay = 0, double momentum = 0, bool centered = false, bool maximize = false)
        : base(groups, new RMSpropOptions
        {
            Lr = lr, Alpha = alpha, Eps = eps, WeightDecay = weightDecay, Momentum = momentum, Centered = centered, Maximize = maximize,
        })
    { }

    /// <inheritdoc/>
    protected override void Update(ParamGroup group, Tensor param, Tensor grad, ParamState state)
    {
        var o = (RMSpropOptions)group.Options;
        var squareAvg = state.Buffer("square_avg", param);
        var momentumBuffer = o.Momentum > 0 ? state.Buffer("momentum_buffer", param).Elements : default;
        var gradAvg = o.Centered ? state.Buffer("grad_avg", param).Elements : default;
        state.Step++;
        OptimizerKernels.RmsProp(param.Elements, grad.Elements, squareAvg.Elements, gradAvg, momentumBuffer, (float)o.WeightDecay, o.Maximize,
            (float)o.Alpha, (float)(1 - o.Alpha), (float)o.Eps, (float)o.Momentum, (float)-o.Lr, o.Centered);
    }
}
