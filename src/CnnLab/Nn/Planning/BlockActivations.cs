using CnnLab.Kernels;

namespace CnnLab.Nn;

/// <summary>
/// The activation layers a convolution's forward can apply block by block (<see cref="Conv2dKernel.BlockActivation"/>), each
/// computed by the very kernel its Functional op runs, so the values are the layer's own, bit for bit; in training, those
/// whose gradient follows from their output (<see cref="GradientFromOutput"/>).
/// </summary>
internal static class BlockActivations
{
    /// <summary>The block form of <paramref name="layer"/>, or null when it is not such an activation.</summary>
    public static Conv2dKernel.BlockActivation? For(Module? layer) => layer switch
    {
        LeakyReLU leaky => Leaky(leaky.NegativeSlope),
        ELU elu => Elu(elu.Alpha),
        GELU => static (_, z, y) => ElementwiseLoop.MapOnThisThread(new GeluForward(), z, y),
        Sigmoid => static (_, z, y) => ElementwiseLoop.MapOnThisThread(new SigmoidForward(), z, y),
        Tanh => static (_, z, y) => ElementwiseLoop.MapOnThisThread(new TanhForward(), z, y),
        _ => null,
    };

    /// <summary>Where a fused convolution's backward gets d conv from dy and the activation's output y.</summary>
    public unsafe delegate ConvOutputGradient OutputGradient(Conv2dGeometry g, float* dy, float* y);

    /// <summary>
    /// The gradient from its output of <paramref name="layer"/>, or null when it needs its input (GELU; a negative slope or α,
    /// for which y &gt; 0 is not x &gt; 0): training can then apply the activation in the convolution too.
    /// </summary>
    public static unsafe OutputGradient? GradientFromOutput(Module? layer) => layer switch
    {
        LeakyReLU { NegativeSlope: >= 0f } leaky => FromOutput(new LeakyReluBackward(leaky.NegativeSlope)),
        ELU { Alpha: >= 0f } elu => FromOutput(new EluBackward(elu.Alpha)),
        Sigmoid => FromOutput(new SigmoidBackward()),
        Tanh => FromOutput(new TanhBackward()),
        _ => null,
    };

    private static unsafe OutputGradient FromOutput<TBackward>(TBackward backward) where TBackward : struct, ITernaryLanes =>
        (g, dy, y) => new ActivationOutputGradient<TBackward>(g, dy, y, backward);

    private static Conv2dKernel.BlockActivation Leaky(float slope) => (_, z, y) => ElementwiseLoop.MapOnThisThread(new LeakyReluForward(slope), z, y);

    private static Conv2dKernel.BlockActivation Elu(float alpha) => (_, z, y) => ElementwiseLoop.MapOnThisThread(new EluForward(alpha), z, y);
}
