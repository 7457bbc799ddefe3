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

    /// <summary>
    /// The form of <paramref name="layer"/> the convolution's kernels can store themselves (<see cref="Rectifier"/>: a leaky
    /// ReLU, whose lanes are <see cref="LeakyReluForward"/>'s), none for any other layer; where the planned kernels cannot,
    /// the block form runs (<see cref="Conv2dKernel.ForwardCached"/>).
    /// </summary>
    public static Rectifier Stored(Module? layer) => layer is LeakyReLU leaky ? Rectifier.Leaky(leaky.NegativeSlope) : default;

    /// <summary>
    /// How training applies an activation in a convolution: the sources of d conv the convolution's backward reads, made of
    /// the activation's own backward lanes (x, y, dy).
    /// </summary>
    public abstract unsafe class TrainingForm
    {
        /// <summary>Whether the lanes need the activation's input kept (else they read y, which gives the same values).</summary>
        public abstract bool NeedsInput { get; }

        /// <summary>y = f(conv) stored: d conv from dy, the kept input (or y) and y.</summary>
        public abstract ConvOutputGradient Gradient(Conv2dGeometry g, float* dy, float* input, float* y);

        /// <summary>pooled = pool(f(conv)), conv kept: d conv from d pooled (and the argmax of a max pool), f recomputed where read.</summary>
        public abstract ConvOutputGradient PoolGradient(Conv2dGeometry g, Pool2dGeometry pool, bool average, bool countIncludePad,
            float* dPooled, int* argmax, float* z, Conv2dKernel.BlockActivation forward);
    }

    /// <summary>The training form of <paramref name="layer"/>, or null when it is not such an activation.</summary>
    public static TrainingForm? ForTraining(Module? layer) => layer switch
    {
        // LeakyReLU's and ELU's x > 0 is y > 0 for a slope or α of at least 0; sigmoid's and tanh's lanes read y alone.
        LeakyReLU leaky => new Lanes<LeakyReluBackward>(new(leaky.NegativeSlope), leaky.NegativeSlope is not >= 0f, ReadsOutput: false),
        ELU elu => new Lanes<EluBackward>(new(elu.Alpha), elu.Alpha is not >= 0f, ReadsOutput: true),
        GELU => new Lanes<GeluBackward>(new(), NeedsInputKept: true, ReadsOutput: false),
        Sigmoid => new Lanes<SigmoidBackward>(new(), NeedsInputKept: false, ReadsOutput: true),
        Tanh => new Lanes<TanhBackward>(new(), NeedsInputKept: false, ReadsOutput: true),
        _ => null,
    };

    private sealed unsafe class Lanes<TBackward>(TBackward backward, bool NeedsInputKept, bool ReadsOutput) : TrainingForm
        where TBackward : struct, ITernaryLanes
    {
        public override bool NeedsInput => NeedsInputKept;

        public override ConvOutputGradient Gradient(Conv2dGeometry g, float* dy, float* input, float* y) =>
            new ActivationGradient<TBackward>(g, dy, input, y, backward);

        public override ConvOutputGradient PoolGradient(Conv2dGeometry g, Pool2dGeometry pool, bool average, bool countIncludePad,
            float* dPooled, int* argmax, float* z, Conv2dKernel.BlockActivation forward) =>
            new ActivationPoolGradient<TBackward>(g, pool, average, countIncludePad, dPooled, argmax, z, forward, ReadsOutput, backward);
    }

    private static Conv2dKernel.BlockActivation Leaky(float slope) => (_, z, y) => ElementwiseLoop.MapOnThisThread(new LeakyReluForward(slope), z, y);

    private static Conv2dKernel.BlockActivation Elu(float alpha) => (_, z, y) => ElementwiseLoop.MapOnThisThread(new EluForward(alpha), z, y);
}
