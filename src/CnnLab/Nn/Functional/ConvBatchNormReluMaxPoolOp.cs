using CnnLab.Kernels;
using CnnLab.Tensors;

namespace CnnLab.Nn;

public static partial class Functional
{
    /// <summary>
    /// max_pool2d(relu(batch_norm(conv2d(x, w, b), ...))) as one op. The forward is the convolution's, which
    /// also takes each output plane's statistics while the image is in cache (batch norm then merges them
    /// instead of reading z again), and then <see cref="BatchNormReluMaxPool2d"/>'s (the convolution's output z
    /// is kept: batch norm's backward reads it). The backward takes batch norm's gradient sums over the batch first, then runs the
    /// convolution's backward with dL/dz made one image at a time from them
    /// (<see cref="BatchNormOutputGradient"/>), so dL/dz is never written to memory and read back. Same values
    /// and gradients as the ops in a row, bit for bit. With running statistics (evaluation) the ops run
    /// one after the other. <see cref="Sequential"/> runs Conv2d → BatchNorm2d → ReLU → MaxPool2d this way
    /// when none of the four has forward hooks.
    /// </summary>
    /// <remarks>PyTorch: <c>F.max_pool2d(F.relu(F.batch_norm(F.conv2d(...), ...)), ...)</c>, fused.</remarks>
    public static Tensor Conv2dBatchNormReluMaxPool2d(Tensor input, Tensor weight, Tensor? bias, Pair stride, Pair padding, Pair dilation, int groups,
        Tensor? runningMean, Tensor? runningVar, Tensor? bnWeight, Tensor? bnBias, bool training, double momentum, float eps,
        Pair poolKernel, Pair? poolStride = null, Pair? poolPadding = null, Pair? poolDilation = null, bool ceilMode = false,
        ConvAlgorithm algorithm = ConvAlgorithm.Auto)
    {
        bool batchStatistics = training || runningMean is null || runningVar is null;
        if (input.Rank != 4 || !batchStatistics)
            return BatchNormReluMaxPool2d(Conv2d(input, weight, bias, stride, padding, dilation, groups, algorithm),
                runningMean, runningVar, bnWeight, bnBias,
                training, momentum, eps, poolKernel, poolStride, poolPadding, poolDilation, ceilMode);
        var g = Conv2dGeometryOf(input, weight, bias, stride, padding, dilation, groups);
        // The pool is checked before the forward runs (and counts a batch in the running statistics).
        var pool = Pool2dGeometryOf([g.N, g.OC, g.OH, g.OW], poolKernel, poolStride ?? poolKernel, poolPadding ?? 0, poolDilation ?? 1, ceilMode);
        var (z, plan) = ConvWithBatchStatistics(g, input, weight, bias, runningMean, runningVar, bnWeight, bnBias, training, momentum, eps,
            algorithm);
        var y = Tensor.ForOp([pool.N, pool.C, pool.OH, pool.OW]);
        var argmax = RentArgmax(y.Numel);
        BatchNormReluMaxPoolKernel.Forward(z.Elements, pool, plan.Scale, plan.Shift, y.Elements, AsIndices(argmax, y.Numel));
        Tensor[] inputs = [input, weight, .. new[] { bias, bnWeight, bnBias }.OfType<Tensor>()];
        return Autograd.RecordWithAddends(y, "ConvolutionBatchNormReluMaxPoolBackward", inputs, (dy, addends) =>
        {
            // y = maxpool(max(0, u)), u = batch_norm(z), z = W ⋆ x + b  →  du[argmax] += dy·[y > 0];
            // dz = a·du + b·(z − μ) + c per channel (batch norm's backward); then the convolution's backward.
            unsafe
            {
                fixed (float* pdy = dy.Elements, py = y.Elements, pidx = argmax.Elements)
                    return ConvBatchNormGradients(g, input, weight, bias, z, plan, new MaxPoolReluPlanes(pdy, py, (int*)pidx, pool), algorithm,
                        addends);
            }
        });
    }
}
