using CnnLab.Kernels;

namespace CnnLab.Nn;

/// <summary>
/// The activation layers a convolution's forward can apply block by block (<see cref="Conv2dKernel.BlockActivation"/>), each
/// computed by the very kernel its Functional op runs, so the values are the layer's own, bit for bit; in training too, with
/// their derivative taken inside the convolution's backward (<see cref="ForTraining"/>).
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

    /// <summary>Where a fused convolution's backward gets d conv: from dy, the activation's input (or y) and its output y.</summary>
    public unsafe delegate ConvOutputGradient GradientSource(Conv2dGeometry g, float* dy, float* input, float* y);

    /// <summary>
    /// How training applies an activation in a convolution: the source of d conv, and whether its derivative needs the
    /// activation's input kept (else it reads y, which gives the same values).
    /// </summary>
    public sealed record TrainingForm(GradientSource Gradient, bool NeedsInput);

    /// <summary>The training form of <paramref name="layer"/>, or null when it is not such an activation.</summary>
    public static TrainingForm? ForTraining(Module? layer) => layer switch
    {
        LeakyReLU leaky => new(FromLanes(new LeakyReluBackward(leaky.NegativeSlope)), NeedsInput: leaky.NegativeSlope is not >= 0f),
        ELU elu => new(FromLanes(new EluBackward(elu.Alpha)), NeedsInput: elu.Alpha is not >= 0f),
        GELU => new(FromLanes(new GeluBackward()), NeedsInput: true),
        Sigmoid => new(FromLanes(new SigmoidBackward()), NeedsInput: false),
        Tanh => new(FromLanes(new TanhBackward()), NeedsInput: false),
        _ => null,
    };

    private static unsafe GradientSource FromLanes<TBackward>(TBackward backward) where TBackward : struct, ITernaryLanes =>
        (g, dy, input, y) => new ActivationGradient<TBackward>(g, dy, input, y, backward);

    private static Conv2dKernel.BlockActivation Leaky(float slope) => (_, z, y) => ElementwiseLoop.MapOnThisThread(new LeakyReluForward(slope), z, y);

    private static Conv2dKernel.BlockActivation Elu(float alpha) => (_, z, y) => ElementwiseLoop.MapOnThisThread(new EluForward(alpha), z, y);
}
