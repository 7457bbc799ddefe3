using CnnLab.Tensors;

namespace CnnLab.Init;

public static partial class Initializers
{
    /// <summary>
    /// Fills <paramref name="tensor"/> with <paramref name="value"/>. As a weight init this is fatal:
    /// every unit of a layer computes the same output and receives the same gradient, so the units
    /// stay identical forever (symmetry is never broken). Fine for biases and BatchNorm's γ/β.
    /// </summary>
    /// <remarks>PyTorch: <c>torch.nn.init.constant_(tensor, val)</c>.</remarks>
    public static Tensor Constant(Tensor tensor, double value)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using (Autograd.NoGrad()) tensor.Elements.Fill((float)value);
        return Written(tensor);
    }

    /// <summary>Fills <paramref name="tensor"/> with 0 (see <see cref="Constant"/> for why weights must not be zero).</summary>
    /// <remarks>PyTorch: <c>torch.nn.init.zeros_(tensor)</c>.</remarks>
    public static Tensor Zeros(Tensor tensor) => Constant(tensor, 0.0);

    /// <summary>Fills <paramref name="tensor"/> with 1.</summary>
    /// <remarks>PyTorch: <c>torch.nn.init.ones_(tensor)</c>.</remarks>
    public static Tensor Ones(Tensor tensor) => Constant(tensor, 1.0);
}
