using CnnLab.Tensors;

namespace CnnLab.Nn;

/// <summary>
/// 2-D average pooling layer (see <see cref="Functional.AvgPool2d"/>). Defaults as PyTorch:
/// stride = kernelSize, padding 0, ceilMode false, countIncludePad true.
/// </summary>
/// <remarks>PyTorch: <c>torch.nn.AvgPool2d(kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True)</c>;
/// divisor_override is not offered.</remarks>
public sealed class AvgPool2d : Module
{
    public AvgPool2d(Pair kernelSize, Pair? stride = null, Pair? padding = null, bool ceilMode = false, bool countIncludePad = true)
    {
        Pair s = stride ?? kernelSize, p = padding ?? 0;
        if (kernelSize.H <= 0 || kernelSize.W <= 0)
            throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize.ToString(), "AvgPool2d kernelSize must be positive");
        if (s.H <= 0 || s.W <= 0) throw new ArgumentOutOfRangeException(nameof(stride), s.ToString(), "AvgPool2d stride must be positive");
        if (p.H < 0 || p.W < 0 || p.H > kernelSize.H / 2 || p.W > kernelSize.W / 2)
            throw new ArgumentOutOfRangeException(nameof(padding), p.ToString(),
                $"pad should be at most half of effective kernel size (kernel_size={kernelSize})");
        KernelSize = kernelSize;
        Stride = s;
        Padding = p;
        CeilMode = ceilMode;
        CountIncludePad = countIncludePad;
    }

    public Pair KernelSize { get; }

    public Pair Stride { get; }

    public Pair Padding { get; }

    public bool CeilMode { get; }

    public bool CountIncludePad { get; }

    protected override Tensor ForwardCore(Tensor input) => Functional.AvgPool2d(input, KernelSize, Stride, Padding, CeilMode, CountIncludePad);

    /// <summary>As PyTorch's AvgPool2d, which prints only these three.</summary>
    protected override string ExtraRepr() => $"kernel_size={KernelSize}, stride={Stride}, padding={Padding}";
}
