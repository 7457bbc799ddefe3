using CnnLab.Tensors;

namespace CnnLab.Init;

public static partial class Initializers
{
    /// <summary>Fills <paramref name="tensor"/> with draws from N(mean, std²). Defaults mean 0, std 1 as in PyTorch.</summary>
    /// <remarks>PyTorch: <c>torch.nn.init.normal_(tensor, mean=0.0, std=1.0)</c>.</remarks>
    public static Tensor Normal(Tensor tensor, double mean = 0.0, double std = 1.0, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!(std >= 0)) throw new ArgumentOutOfRangeException(nameof(std), std, "Normal expects std >= 0");
        using (Autograd.NoGrad()) FillNormal(tensor, mean, std, Gen(generator));
        return Written(tensor);
    }
}
