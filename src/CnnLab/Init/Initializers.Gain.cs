namespace CnnLab.Init;

public static partial class Initializers
{
    /// <summary>
    /// The recommended gain for a nonlinearity: the factor by which an initializer's std is scaled so
    /// that the nonlinearity keeps the signal's second moment from layer to layer.
    /// <list type="table">
    /// <item>Linear, Conv1d/2d/3d, ConvTranspose1d/2d/3d, Sigmoid: 1</item>
    /// <item>Tanh: 5/3</item>
    /// <item>ReLU: √2 (ReLU zeroes half of a symmetric input, halving E[x²]; He et al. 2015)</item>
    /// <item>LeakyReLU: √(2/(1 + negative_slope²)), slope = <paramref name="param"/> or 0.01</item>
    /// <item>SELU: 3/4 (PyTorch's choice for self-normalizing networks)</item>
    /// </list>
    /// </summary>
    /// <param name="nonlinearity">The activation that follows the layer.</param>
    /// <param name="param">LeakyReLU's negative slope (default 0.01); ignored by the others.</param>
    /// <remarks>PyTorch: <c>torch.nn.init.calculate_gain(nonlinearity, param=None)</c>.</remarks>
    public static double CalculateGain(Nonlinearity nonlinearity, double? param = null) => nonlinearity switch
    {
        Nonlinearity.Linear or Nonlinearity.Conv1d or Nonlinearity.Conv2d or Nonlinearity.Conv3d
            or Nonlinearity.ConvTranspose1d or Nonlinearity.ConvTranspose2d or Nonlinearity.ConvTranspose3d
            or Nonlinearity.Sigmoid => 1.0,
        Nonlinearity.Tanh => 5.0 / 3,
        Nonlinearity.Relu => Math.Sqrt(2.0),
        Nonlinearity.LeakyRelu => LeakyReluGain(param ?? 0.01),
        Nonlinearity.Selu => 3.0 / 4,
        _ => throw new ArgumentOutOfRangeException(nameof(nonlinearity), nonlinearity, "unsupported nonlinearity"),
    };

    private static double LeakyReluGain(double negativeSlope)
    {
        if (!double.IsFinite(negativeSlope))
            throw new ArgumentException($"negative_slope {negativeSlope} is not a valid number");
        return Math.Sqrt(2.0 / (1 + negativeSlope * negativeSlope));
    }
}
