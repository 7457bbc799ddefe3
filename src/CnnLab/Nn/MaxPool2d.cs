using CnnLab.Tensors;

namespace CnnLab.Nn;

/// <summary>
/// 2-D max pooling layer (see <see cref="Functional.MaxPool2d"/>). Defaults as PyTorch: stride =
/// kernelSize, padding 0, dilation 1, ceilMode false. Max pooling as a CNN stage: Ranzato et al. 2007;
/// Scherer, Müller, Behnke 2010, "Evaluation of Pooling Operations in Convolutional Architectures".
/// </summary>
/// <remarks>PyTorch: <c>torch.nn.MaxPool2d(kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False)</c>;
/// return_indices is not offered.</remarks>
public sealed class MaxPool2d : Module
{
    public MaxPool2d(Pair kernelSize, Pair? stride = null, Pair? padding = null, Pair? dilation = null, bool ceilMode = false)
    {
        Pair s = stride ?? kernelSize, p = padding ?? 0, d = dilation ?? 1;
        if (kernelSize.H <= 0 || kernelSize.W <= 0)
            throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize.ToString(), "MaxPool2d kernelSize must be positive");
        if (s.H <= 0 || s.W <= 0) throw new ArgumentOutOfRangeException(nameof(stride), s.ToString(), "MaxPool2d stride must be positive");
        if (d.H <= 0 || d.W <= 0) throw new ArgumentOutOfRangeException(nameof(dilation), d.ToString(), "MaxPool2d dilation must be positive");
        if (p.H < 0 || p.W < 0 || p.H > ((kernelSize.H - 1) * d.H + 1) / 2 || p.W > ((kernelSize.W - 1) * d.W + 1) / 2)
            throw new ArgumentOutOfRangeException(nameof(padding), p.ToString(),
                $"pad should be at most half of effective kernel size (kernel_size={kernelSize}, dilation={d})");
        KernelSize = kernelSize;
        Stride = s;
        Padding = p;
        Dilation = d;
        CeilMode = ceilMode;
    }

    public Pair KernelSize { get; }

    public Pair Stride { get; }

    public Pair Padding { get; }

    public Pair Dilation { get; }

    public bool CeilMode { get; }

    protected override Tensor ForwardCore(Tensor input) => Functional.MaxPool2d(input, KernelSize, Stride, Padding, Dilation, CeilMode);

    protected override string ExtraRepr() =>
        $"kernel_size={KernelSize}, stride={Stride}, padding={Padding}, dilation={Dilation}, ceil_mode={(CeilMode ? "True" : "False")}";
}
