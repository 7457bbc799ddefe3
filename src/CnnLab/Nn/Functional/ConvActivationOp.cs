using CnnLab.Kernels;
using CnnLab.Tensors;

namespace CnnLab.Nn;

public static partial class Functional
{
    /// <summary>
    /// activation(conv2d(x, w, b)) for inference: each block of images goes through the activation as the convolution
    /// finishes it, while it is in cache, and the convolution's own output is never stored. Records nothing, so it is
    /// only for inputs that need no gradient (the fusion pass checks). The same bits as the two ops one after the other.
    /// </summary>
    internal static Tensor Conv2dActivationInference(Tensor input, Tensor weight, Tensor? bias, Pair stride, Pair padding, Pair dilation,
        int groups, ConvAlgorithm algorithm, Conv2dKernel.BlockActivation activation)
    {
        Tensor[] inputs = bias is null ? [input, weight] : [input, weight, bias];
        if (Autograd.NeedsGrad(inputs)) throw new InvalidOperationException("the fused inference convolution records no gradient");
        var g = Conv2dGeometryOf(input, weight, bias, stride, padding, dilation, groups);
        var y = Tensor.ForOp([g.N, g.OC, g.OH, g.OW]);
        Conv2dKernel.ForwardCached(g, input.Data, weight.Data, bias is null ? default : bias.Data, bias is not null, y.Data, false, default, default,
            weight.Buffer, algorithm, activation);
        return y;
    }
}
