using System.Runtime.InteropServices;
using CnnLab.Kernels;
using CnnLab.Tensors;

namespace CnnLab.Nn;

public static partial class Functional
{
    /// <summary>
    /// max_pool2d(relu(conv2d(x, w, b))) as one op (<see cref="ConvReluMaxPoolKernel"/>): each image's
    /// convolution output is pooled while in cache and never stored, and the backward rebuilds its
    /// gradient from the pooled values and argmax indices. Same values and gradients as the three ops
    /// in a row, bit for bit, except for one input channel with a 3x3 kernel and padding 1 (or 5x5 and
    /// padding 2) and a 2x2 pool when x needs no gradient (an image network's first layer): that runs directly
    /// (<see cref="ConvReluMaxPoolSingleChannel"/>), the same values, and dW and db summed in another order
    /// (equal to rounding; the same for any thread count). <see cref="Sequential"/> runs Conv2d → ReLU → MaxPool2d this way when none
    /// of the three has forward hooks (a hook that wants to see a feature map turns the fusion off).
    /// </summary>
    /// <remarks>PyTorch: <c>F.max_pool2d(F.relu(F.conv2d(x, w, b, ...)), ...)</c>, fused.</remarks>
    public static Tensor Conv2dReluMaxPool2d(Tensor input, Tensor weight, Tensor? bias, Pair? stride, Pair? padding, Pair? dilation, int groups,
        Pair poolKernel, Pair? poolStride = null, Pair? poolPadding = null, Pair? poolDilation = null, bool ceilMode = false,
        ConvAlgorithm algorithm = ConvAlgorithm.Auto)
    {
        if (input.Rank != 4)
            return MaxPool2d(Conv2dRelu(input, weight, bias, stride, padding, dilation, groups, algorithm), poolKernel, poolStride, poolPadding,
                poolDilation, ceilMode);
        var g = Conv2dGeometryOf(input, weight, bias, stride ?? 1, padding ?? 0, dilation ?? 1, groups);
        var pool = Pool2dGeometryOf([g.N, g.OC, g.OH, g.OW], poolKernel, poolStride ?? poolKernel, poolPadding ?? 0, poolDilation ?? 1, ceilMode);
        var y = Tensor.ForOp([g.N, g.OC, pool.OH, pool.OW]);
        Tensor[] inputs = bias is null ? [input, weight] : [input, weight, bias];
        if (!input.RequiresGrad && ConvPlanner.PoolsSingleChannel(g, pool, algorithm))
            return SingleChannelConvReluMaxPool(g, pool, input, weight, bias, y, inputs);
        if (!Autograd.NeedsGrad(inputs))
        {
            // No backward will ask where each max came from.
            ConvReluMaxPoolKernel.ForwardCached(g, pool, input.Elements, weight.Elements, bias is null ? default : bias.Elements,
                bias is not null, y.Elements,
                default, PlanKey(inputs, weight), algorithm);
            return y;
        }
        var argmax = RentArgmax(y.Numel);
        ConvReluMaxPoolKernel.ForwardCached(g, pool, input.Elements, weight.Elements, bias is null ? default : bias.Elements,
            bias is not null, y.Elements,
            AsIndices(argmax, y.Numel), PlanKey(inputs, weight), algorithm);
        return Autograd.Record(y, "ConvolutionReluMaxPoolBackward", inputs, dy =>
        {
            // y = maxpool(max(0, W ⋆ x + b))  →  dz[argmax] += dy·[y > 0], then the convolution's backward with dz.
            var grads = new ConvGradients(input, weight, bias);
            grads.DxFinished(ConvReluMaxPoolKernel.BackwardMaskingDx(g, pool, input.Elements, weight.Elements, y.Elements,
                AsIndices(argmax, y.Numel), dy.Elements,
                grads.Dx, grads.Dw, grads.Db, overwriteDx: true, algorithm, grads.MaskDx, grads.InputSums));
            return grads.ForInputs();
        });
    }

    // The first layer's case (one input channel, 3x3 with padding 1 or 5x5 with padding 2, 2x2 pool; no gradient for x): the direct
    // kernel, which keeps a byte per pooled output (the window its max came from) instead of an int index.
    private static Tensor SingleChannelConvReluMaxPool(in Conv2dGeometry g, in Pool2dGeometry pool, Tensor input, Tensor weight, Tensor? bias,
        Tensor y, Tensor[] inputs)
    {
        if (!Autograd.NeedsGrad(inputs))
        {
            // No backward will ask where each max came from.
            ConvReluMaxPoolSingleChannel.ForwardValues(g, pool, input.Elements, weight.Elements, bias is null ? default : bias.Elements,
                bias is not null, y.Elements);
            return y;
        }
        int codesLength = checked((int)ConvReluMaxPoolSingleChannel.CodesLength(g, pool));
        var codes = Tensor.ForOp([(codesLength + 3) / 4]);
        Span<byte> Codes() => MemoryMarshal.AsBytes(codes.Elements).Slice(0, codesLength);
        ConvReluMaxPoolSingleChannel.Forward(g, pool, input.Elements, weight.Elements, bias is null ? default : bias.Elements,
            bias is not null, y.Elements, Codes());
        var (geo, poolGeo) = (g, pool);
        return Autograd.Record(y, "ConvolutionReluMaxPoolBackward", inputs, dy =>
        {
            var grads = new ConvGradients(input, weight, bias);
            ConvReluMaxPoolSingleChannel.BackwardWeights(geo, poolGeo, input.Elements, Codes(), dy.Elements, grads.Dw, grads.Db);
            return grads.ForInputs();
        });
    }
}
