using CnnLab.Tensors;

namespace CnnLab.Nn;

/// <summary>
/// 2-D convolution layer: y = W ⋆ x + b for x [N, inChannels, H, W] (or [inChannels, H, W]),
/// W [outChannels, inChannels/groups, kH, kW], b [outChannels] (see <see cref="Functional.Conv2d"/>).
/// Sizes take an int or an (h, w) pair. Defaults as PyTorch: stride 1, padding 0, dilation 1,
/// groups 1, bias on, and W, b ~ U(−1/√fan_in, 1/√fan_in) with fan_in = inChannels/groups·kH·kW
/// (<see cref="Init.DefaultInit"/>).
/// </summary>
/// <remarks>PyTorch: <c>torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
/// groups=1, bias=True)</c>; padding_mode is always 'zeros' and padding must be numeric.</remarks>
public sealed class Conv2d : Module
{
    public Conv2d(int inChannels, int outChannels, Pair kernelSize, Pair? stride = null, Pair? padding = null,
        Pair? dilation = null, int groups = 1, bool bias = true, Generator? generator = null)
    {
        Pair s = stride ?? 1, p = padding ?? 0, d = dilation ?? 1;
        if (inChannels <= 0) throw new ArgumentOutOfRangeException(nameof(inChannels), inChannels, "Conv2d inChannels must be positive");
        if (outChannels <= 0) throw new ArgumentOutOfRangeException(nameof(outChannels), outChannels, "Conv2d outChannels must be positive");
        if (groups <= 0) throw new ArgumentOutOfRangeException(nameof(groups), groups, "groups must be a positive integer");
        if (inChannels % groups != 0)
            throw new ArgumentException($"in_channels must be divisible by groups (inChannels={inChannels}, groups={groups})");
        if (outChannels % groups != 0)
            throw new ArgumentException($"out_channels must be divisible by groups (outChannels={outChannels}, groups={groups})");
        if (kernelSize.H <= 0 || kernelSize.W <= 0)
            throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize.TupleString(), "Conv2d kernelSize must be positive");
        if (s.H <= 0 || s.W <= 0) throw new ArgumentOutOfRangeException(nameof(stride), s.TupleString(), "Conv2d stride must be positive");
        if (p.H < 0 || p.W < 0) throw new ArgumentOutOfRangeException(nameof(padding), p.TupleString(), "Conv2d padding must be non-negative");
        if (d.H <= 0 || d.W <= 0) throw new ArgumentOutOfRangeException(nameof(dilation), d.TupleString(), "Conv2d dilation must be positive");
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = new Pair(kernelSize.H, kernelSize.W);
        Stride = new Pair(s.H, s.W);
        Padding = new Pair(p.H, p.W);
        Dilation = new Pair(d.H, d.W);
        Groups = groups;
        Weight = RegisterParameter("weight", new Parameter(outChannels, inChannels / groups, kernelSize.H, kernelSize.W));
        if (bias) Bias = RegisterParameter("bias", new Parameter(outChannels));
        Init.DefaultInit.Apply(Weight, Bias, generator ?? Generator.Default);
    }

    public int InChannels { get; }

    public int OutChannels { get; }

    /// <summary>(kH, kW).</summary>
    public Pair KernelSize { get; }

    public Pair Stride { get; }

    public Pair Padding { get; }

    public Pair Dilation { get; }

    public int Groups { get; }

    /// <summary>[outChannels, inChannels/groups, kH, kW].</summary>
    public Parameter Weight { get; }

    /// <summary>[outChannels], or null when built with bias: false.</summary>
    public Parameter? Bias { get; }

    /// <summary>
    /// The algorithm every pass of this layer runs by: <see cref="Kernels.ConvAlgorithm.Auto"/> (default) lets
    /// <see cref="Kernels.ConvPlanner"/> choose from the shapes; any other pins it (tests, experiments), and a forward whose
    /// shapes it cannot run fails with the reason. Not saved with the weights.
    /// </summary>
    /// <remarks>PyTorch has no per-layer switch; <c>torch.backends.cudnn</c> flags choose globally.</remarks>
    public Kernels.ConvAlgorithm Algorithm { get; set; } = Kernels.ConvAlgorithm.Auto;

    protected override Tensor ForwardCore(Tensor input) => Functional.Conv2d(input, Weight, Bias, Stride, Padding, Dilation, Groups, Algorithm);

    /// <summary>As PyTorch: sizes as tuples; padding, dilation, groups and bias only when not default.</summary>
    protected override string ExtraRepr()
    {
        var s = $"{InChannels}, {OutChannels}, kernel_size={KernelSize.TupleString()}, stride={Stride.TupleString()}";
        if (Padding != new Pair(0, 0)) s += $", padding={Padding.TupleString()}";
        if (Dilation != new Pair(1, 1)) s += $", dilation={Dilation.TupleString()}";
        if (Groups != 1) s += $", groups={Groups}";
        if (Bias is null) s += ", bias=False";
        return s;
    }
}
