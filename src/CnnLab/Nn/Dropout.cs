using CnnLab.Tensors;

namespace CnnLab.Nn;

/// <summary>
/// Inverted dropout with probability p (default 0.5): active in training mode, the identity in eval
/// mode. See <see cref="Functional.Dropout"/>.
/// </summary>
/// <remarks>PyTorch: <c>torch.nn.Dropout(p=0.5)</c>.</remarks>
public sealed class Dropout : Module
{
    private readonly Generator _generator;

    public Dropout(float p = 0.5f, Generator? generator = null)
    {
        if (p < 0f || p > 1f) throw new ArgumentOutOfRangeException(nameof(p), p, "dropout probability has to be between 0 and 1");
        P = p;
        _generator = generator ?? Generator.Default;
    }

    public float P { get; }

    protected override Tensor ForwardCore(Tensor input) => Functional.Dropout(input, P, Training, _generator);

    protected override string ExtraRepr() => FormattableString.Invariant($"p={P}");
}
