using CnnLab.Kernels;

namespace CnnLab.Nn;

/// <summary>
/// The activation layers a convolution's forward can apply block by block in inference (<see cref="Conv2dKernel.BlockActivation"/>),
/// each computed by the very kernel its Functional op runs, so the values are the layer's own, bit for bit.
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

    private static Conv2dKernel.BlockActivation Leaky(float slope) => (_, z, y) => ElementwiseLoop.MapOnThisThread(new LeakyReluForward(slope), z, y);

    private static Conv2dKernel.BlockActivation Elu(float alpha) => (_, z, y) => ElementwiseLoop.MapOnThisThread(new EluForward(alpha), z, y);
}
