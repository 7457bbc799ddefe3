namespace CnnLab.Kernels;

/// <summary>
/// The algorithms a 2-D convolution can run by. <see cref="ConvPlanner"/> chooses one per pass (forward, input
/// gradient, weight gradient) from the geometry; a layer can pin one (<c>Conv2d.Algorithm</c>) for tests and
/// experiments. Every one computes the same sums as <see cref="Conv2dReference"/>, in its own order.
/// </summary>
/// <remarks>PyTorch: cuDNN's <c>cudnnConvolutionFwdAlgo_t</c> and oneDNN's <c>algorithm::convolution_*</c> play this role.</remarks>
public enum ConvAlgorithm
{
    /// <summary>The planner chooses, per pass, from the shapes.</summary>
    Auto = 0,

    /// <summary>im2col + GEMM (<see cref="Conv2dKernel"/>): any geometry; a 1x1 stride-1 convolution multiplies the input itself.</summary>
    Im2ColGemm,

    /// <summary>Winograd F(2x2, 3x3) (<see cref="Winograd3x3"/>): 3x3, stride 1, padding 1, dilation 1, AVX-512; y, dx and dW.</summary>
    Winograd,

    /// <summary>
    /// Direct, 16 output channels per vector, two vectors where they fill (<see cref="ChannelBlockedConv"/>): OC per group a multiple
    /// of 16 (or one group, its last block padded), AVX-512; y, dW, and dx (<see cref="ChannelBlockedInputGradient"/>) where C per
    /// group is a multiple of 16.
    /// </summary>
    ChannelBlocked,

    /// <summary>
    /// Direct, one input channel (<see cref="SingleChannelConv3x3"/>: 3x3, padding 1, stride 1, AVX-512), and with a ReLU and a 2x2
    /// max pool after it also 5x5 with padding 2 (<see cref="ConvReluMaxPoolSingleChannel"/>); y (and dW when pooled).
    /// </summary>
    SingleChannel,

    /// <summary>Direct depthwise (<see cref="DepthwiseConv"/>): one input channel per group, several groups; y, dx and dW.</summary>
    Depthwise,

    /// <summary>
    /// Direct, 16 pixels of an output row per vector and 8 output channels per step (<see cref="OutputRowConv"/>): AVX-512; y at
    /// stride 1 or 2 in x (rows split into column phases), any stride in y; dx as a forward on dy (<see cref="OutputRowInputGradient"/>)
    /// at stride 1 where the padding is at most the kernel's reach, and at stride 2 in x 16 pixels of a phase row per vector
    /// (<see cref="StrideTwoRowInputGradient"/>).
    /// </summary>
    OutputRows,

    /// <summary>
    /// Winograd F(4x4, 3x3) (<see cref="Winograd4x4"/>): 3x3, stride 1, padding 1, dilation 1, planes at most 64 wide, AVX-512; y, dx
    /// and dW. Fewer products than <see cref="Winograd"/>, with more rounding (a few millionths of the largest output).
    /// </summary>
    Winograd4x4,

    /// <summary>
    /// Winograd F(2x2, 5x5) (<see cref="Winograd5x5"/>): 5x5, stride 1, padding 2, dilation 1, planes at most 32 wide, AVX-512; y, dx
    /// and dW. 2.8x fewer products than a direct sum, with F(4x4, 3x3)'s rounding.
    /// </summary>
    Winograd5x5,

    /// <summary>
    /// One GEMM per output pixel over a block of images, only the taps inside the plane (<see cref="PixelGemmConv"/>): one group;
    /// y, dx and dW. For small planes, whose padding holds many of a kernel's taps.
    /// </summary>
    PixelGemm,

    /// <summary>
    /// One dot product per output along its weight row, the weights read where they lie (<see cref="WeightRowConv"/>): any
    /// geometry, AVX-512; y only. For layers whose weights are used only a few times a call (a single image on a 2x2 or 1x1
    /// output), where preparing (or, in inference, comparing) the weights costs as much as using them.
    /// </summary>
    WeightRows,

    /// <summary>
    /// Winograd F(2x2, 3x3) or F(2x2, 5x5) with its products as GEMMs (<see cref="WinogradGemm"/>): 3x3 with padding 1 or 5x5 with
    /// padding 2, stride 1, dilation 1, AVX2; y, dx and dW. The planner's Winograd where AVX-512 (and so <see cref="Winograd"/>) is
    /// missing.
    /// </summary>
    WinogradGemm,
}
