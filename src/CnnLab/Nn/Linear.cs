using CnnLab.Tensors;

namespace CnnLab.Nn;

/// <summary>
/// Fully connected layer: y = x·Wᵀ + b, W [out, in], b [out]. Default init as PyTorch:
/// W, b ~ U(-1/√in, 1/√in) (see <see cref="Init.DefaultInit"/>).
/// </summary>
/// <remarks>PyTorch: <c>torch.nn.Linear(in_features, out_features, bias=True)</c>.</remarks>
public sealed class Linear : Module
{
    public Linear(int inFeatures, int outFeatures, bool bias = true, Generator? generator = null)
    {
        if (inFeatures <= 0) throw new ArgumentOutOfRangeException(nameof(inFeatures), inFeatures, "Linear inFeatures must be positive");
        if (outFeatures <= 0) throw new ArgumentOutOfRangeException(nameof(outFeatures), outFeatures, "Linear outFeatures must be positive");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weight = RegisterParameter("weight", new Parameter(outFeatures, inFeatures));
        if (bias) Bias = RegisterParameter("bias", new Parameter(outFeatures));
        Init.DefaultInit.Apply(Weight, Bias, generator ?? Generator.Default);
    }

    public int InFeatures { get; }

    public int OutFeatures { get; }

    /// <summary>[out, in].</summary>
    public Parameter Weight { get; }

    /// <summary>[out], or null when built with bias: false.</summary>
    public Parameter? Bias { get; }

    protected override Tensor ForwardCore(Tensor input) => Functional.Linear(input, Weight, Bias);

    protected override string ExtraRepr() => $"in_features={InFeatures}, out_features={OutFeatures}, bias={(Bias is not null ? "True" : "False")}";
}
