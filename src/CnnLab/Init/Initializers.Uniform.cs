using CnnLab.Tensors;

namespace CnnLab.Init;

public static partial class Initializers
{
    /// <summary>
    /// Fills <paramref name="tensor"/> with draws from U(a, b): mean (a+b)/2, variance (b−a)²/12.
    /// Defaults a = 0, b = 1 as in PyTorch.
    /// </summary>
    /// <remarks>PyTorch: <c>torch.nn.init.uniform_(tensor, a=0.0, b=1.0)</c>.</remarks>
    public static Tensor Uniform(Tensor tensor, double a = 0.0, double b = 1.0, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!(a <= b)) throw new ArgumentException($"Uniform expects a <= b, got a={a} > b={b}");
        using (Autograd.NoGrad()) FillUniform(tensor, a, b, Gen(generator));
        return Written(tensor);
    }
}
