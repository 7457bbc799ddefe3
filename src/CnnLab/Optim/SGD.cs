using CnnLab.Kernels;
using CnnLab.Tensors;

namespace CnnLab.Optim;

/// <summary>Hyper-parameters of <see cref="SGD"/> (PyTorch's keys: lr, momentum, dampening, weight_decay, nesterov, maximize).</summary>
public sealed class SGDOptions : OptimizerOptions, IMomentumOptions
{
    /// <summary>Momentum factor μ (default 0: plain SGD).</summary>
    public double Momentum { get; set; }

    /// <summary>Dampening τ for momentum (default 0).</summary>
    public double Dampening { get; set; }

    /// <summary>Nesterov momentum (default false).</summary>
    public bool Nesterov { get; set; }

    /// <summary>Maximize the objective instead of minimizing it (default false).</summary>
    public bool Maximize { get; set; }

    /// <inheritdoc/>
    public override void Validate()
    {
        if (!(Lr >= 0)) throw new ArgumentException($"Invalid learning rate: {Format(Lr)}");
        if (!(Momentum >= 0)) throw new ArgumentException($"Invalid momentum value: {Format(Momentum)}");
        if (!(WeightDecay >= 0)) throw new ArgumentException($"Invalid weight_decay value: {Format(WeightDecay)}");
        if (Nesterov && (Momentum <= 0 || Dampening != 0))
            throw new ArgumentException("Nesterov momentum requires a momentum and zero dampening");
    }

    /// <inheritdoc/>
    protected override void Write(Dictionary<string, object> d)
    {
        d["momentum"] = Momentum; d["dampening"] = Dampening; d["nesterov"] = Nesterov; d["maximize"] = Maximize;
    }

    /// <inheritdoc/>
    protected override void Read(IReadOnlyDictionary<string, object> d)
    {
        if (d.TryGetValue("momentum", out var m)) Momentum = ToDouble(m, "momentum");
        if (d.TryGetValue("dampening", out var da)) Dampening = ToDouble(da, "dampening");
        if (d.TryGetValue("nesterov", out var n)) Nesterov = ToBool(n, "nesterov");
        if (d.TryGetValue("maximize", out var x)) Maximize = ToBool(x, "maximize");
    }
}

/// <summary>
/// Stochastic gradient descent, optionally with (Nesterov) momentum. For each parameter with a gradient:
/// <code>
/// 1. g ← ∇f(θ)            (−∇f(θ) if maximize)
/// 2. g ← g + λ·θ          if λ ≠ 0            (weight decay as L2, coupled to the gradient)
/// 3. if μ ≠ 0:
///      b ← g                  on the first step
///      b ← μ·b + (1 − τ)·g    afterwards
///      g ← g + μ·b            if nesterov, else g ← b
/// 4. θ ← θ − lr·g
/// </code>
/// Defaults: momentum 0, dampening 0, weightDecay 0, nesterov false, maximize false; lr has no default
/// (PyTorch 1.13 requires it). State: <c>momentum_buffer</c> when μ ≠ 0.
/// Momentum in this form: Sutskever, Martens, Dahl and Hinton, "On the importance of initialization and
/// momentum in deep learning", ICML 2013; Nesterov's accelerated gradient: Nesterov 1983.
/// </summary>
/// <remarks>PyTorch: <c>torch.optim.SGD</c> (1.13, <c>_single_tensor_sgd</c>), same update, same floating-point
/// operation order (see <see cref="OptimizerKernels.Sgd"/>).</remarks>
public sealed class SGD : Optimizer
{
    /// <summary>SGD over <paramref name="parameters"/> in one group.</summary>
    public SGD(IEnumerable<Tensor> parameters, double lr, double momentum = 0, double dampening = 0,
        bool nesterov = false, double weightDecay = 0, bool maximize = false)
        : this(SingleGroup(parameters), lr, momentum, dampening, nesterov, weightDecay, maximize) { }

    /// <summary>SGD over <paramref name="groups"/>; the arguments are the defaults for options a group does not set.</summary>
    public SGD(IEnumerable<ParamGroup> groups, double lr, double momentum = 0, double dampening = 0,
        bool nesterov = false, double weightDecay = 0, bool maximize = false)
        : base(groups, new SGDOptions
        {
            Lr = lr, Momentum = momentum, Dampening = dampening, Nesterov = nesterov, WeightDecay = weightDecay, Maximize = maximize,
        })
    { }

    /// <inheritdoc/>
    protected override void Update(ParamGroup group, Tensor param, Tensor grad, ParamState state)
    {
        var o = (SGDOptions)group.Options;
        Span<float> buffer = default;
        bool init = false;
        if (o.Momentum != 0)
        {
            init = !state.Buffers.ContainsKey("momentum_buffer");
            buffer = state.Buffer("momentum_buffer", param).Elements;
        }
        state.Step++;
        OptimizerKernels.Sgd(param.Elements, grad.Elements, buffer, (float)o.WeightDecay, (float)o.Momentum,
            (float)(1 - o.Dampening), (float)-o.Lr, o.Nesterov, o.Maximize, init);
    }
}
