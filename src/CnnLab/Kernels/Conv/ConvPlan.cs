namespace CnnLab.Kernels;

/// <summary>
/// The algorithm of each pass of one convolution: <see cref="Forward"/> computes y, <see cref="InputGradient"/> dx,
/// <see cref="WeightGradient"/> dW (and db alongside). Made by <see cref="ConvPlanner.Plan"/>; never <see cref="ConvAlgorithm.Auto"/>.
/// </summary>
public readonly record struct ConvPlan(ConvAlgorithm Forward, ConvAlgorithm InputGradient, ConvAlgorithm WeightGradient)
{
    /// <summary>"forward/input-gradient/weight-gradient", one name when all three agree (benchmark tables).</summary>
    public override string ToString() =>
        Forward == InputGradient && Forward == WeightGradient ? Name(Forward) : $"{Name(Forward)}/{Name(InputGradient)}/{Name(WeightGradient)}";

    /// <summary>
    /// A short name for tables: im2col+GEMM, Winograd, Winograd-4x4, Winograd-5x5, channel-blocked, single-channel, depthwise,
    /// output-rows, pixel-GEMM, weight-rows, Winograd-GEMM.
    /// </summary>
    public static string Name(ConvAlgorithm algorithm) => algorithm switch
    {
        ConvAlgorithm.Im2ColGemm => "im2col+GEMM",
        ConvAlgorithm.Winograd => "Winograd",
        ConvAlgorithm.Winograd4x4 => "Winograd-4x4",
        ConvAlgorithm.Winograd5x5 => "Winograd-5x5",
        ConvAlgorithm.ChannelBlocked => "channel-blocked",
        ConvAlgorithm.SingleChannel => "single-channel",
        ConvAlgorithm.Depthwise => "depthwise",
        ConvAlgorithm.OutputRows => "output-rows",
        ConvAlgorithm.PixelGemm => "pixel-GEMM",
        ConvAlgorithm.WeightRows => "weight-rows",
        ConvAlgorithm.WinogradGemm => "Winograd-GEMM",
        _ => "auto",
    };
}
