using CnnLab.Tensors;

namespace CnnLab.Init;

public static partial class Initializers
{
    /// <summary>
    /// Fills <paramref name="tensor"/> with draws from N(mean, std²) truncated to [a, b] (every value lies in [a, b]).
    /// Inverse-CDF method, as PyTorch: with l = Φ((a−mean)/std), u = Φ((b−mean)/std), draw p ~ U(l, u) and
    /// return mean + std·Φ⁻¹(p), clamped to [a, b]. PyTorch draws U(2l−1, 2u−1) and applies erfinv in float32;
    /// CnnLab inverts Φ in double. The result has mean mean + std·(φ(α)−φ(β))/Z and a variance below std²
    /// (α, β the standardized limits, Z = u − l). Defaults mean 0, std 1, a = −2, b = 2 as in PyTorch.
    /// </summary>
    /// <remarks>PyTorch: <c>torch.nn.init.trunc_normal_(tensor, mean=0., std=1., a=-2., b=2.)</c>.</remarks>
    public static Tensor TruncNormal(Tensor tensor, double mean = 0.0, double std = 1.0, double a = -2.0, double b = 2.0, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!(std > 0)) throw new ArgumentOutOfRangeException(nameof(std), std, "TruncNormal expects std > 0");
        if (!(a < b)) throw new ArgumentException($"TruncNormal expects a < b, got a={a}, b={b}");
        var (low, high) = TruncNormalCdfRange(mean, std, a, b);
        if (!(high > low))
            throw new ArgumentException($"TruncNormal: [a, b] = [{a}, {b}] lies too far in the tail of N({mean}, {std}²) "
                + $"(probability mass {high - low:G3})");
        var gen = Gen(generator);
        double alpha = (a - mean) / std, beta = (b - mean) / std;
        using (Autograd.NoGrad())
        {
            var data = tensor.Elements;
            for (int i = 0; i < data.Length; i++)
            {
                double p = low + (high - low) * gen.NextDouble();
                double z = NormalDistribution.InverseCdf(p, alpha, beta);
                data[i] = (float)Math.Clamp(mean + std * z, a, b);
            }
        }
        return Written(tensor);
    }

    /// <summary>(Φ((a−mean)/std), Φ((b−mean)/std)): the CDF range TruncNormal draws its uniform from (PyTorch's l and u).</summary>
    public static (double Low, double High) TruncNormalCdfRange(double mean, double std, double a, double b) =>
        (NormalDistribution.Cdf((a - mean) / std), NormalDistribution.Cdf((b - mean) / std));
}
