namespace CnnLab.Init.Networks;

/// <summary>
/// One weight layer as the <see cref="InitDoctor"/> measured it. "Activation" is the signal the next
/// layer sees: the output of the activation that follows the layer, or of the layer itself if none does.
/// Gain is the effective gain √fan_in·std(W) (PyTorch's sense: std = gain/√fan_in; √2 for Kaiming-ReLU,
/// ≈ 1 for LeCun and square-layer Xavier, 1/√3 for PyTorch's default). NaN where a value does not exist.
/// </summary>
/// <remarks>PyTorch: no counterpart.</remarks>
public sealed record DoctorLayer(
    string Name, string Activation, int FanIn, int FanOut, double Gain, double WeightStd,
    double PredictedMean, double PredictedStd, double ActivationMean, double ActivationStd,
    double GradStd, double? DeadFraction, double StdRatio);
