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
        int groups, ConvAlgorithm algorithm, Conv2dKernel.BlockActivation activation, Rectifier stored = default)
    {
        var g = InferenceGeometry(input, weight, bias, stride, padding, dilation, groups);
        var y = Tensor.ForOp([g.N, g.OC, g.OH, g.OW]);
        ConvolveInBlocks(g, input, weight, bias, y, algorithm, activation, stored: stored);
        return y;
    }

    /// <summary>
    /// activation(conv2d(x, w, b)) recorded for training: each block of images is activated as the convolution finishes it
    /// (and, where the activation's derivative needs its input, copied into a kept tensor), and the backward takes
    /// d conv = dy·f′ one image at a time inside the convolution's (<see cref="BlockActivations.ForTraining"/>). The activation
    /// takes no pass over memory of its own and d conv is never stored: the same bits as the two layers in a row (as
    /// <see cref="Conv2dRelu"/> for the ReLU). A leaky ReLU the kernels store (<paramref name="stored"/>) takes no block pass
    /// either, where its derivative needs no kept input.
    /// </summary>
    internal static unsafe Tensor Conv2dActivation(Tensor input, Tensor weight, Tensor? bias, Pair stride, Pair padding, Pair dilation,
        int groups, ConvAlgorithm algorithm, Conv2dKernel.BlockActivation activation, BlockActivations.TrainingForm training,
        Rectifier stored = default)
    {
        var g = Conv2dGeometryOf(input, weight, bias, stride, padding, dilation, groups);
        int[] shape = [g.N, g.OC, g.OH, g.OW];
        var y = Tensor.ForOp(shape);
        var z = training.NeedsInput ? Tensor.ForOp(shape) : null;
        int image = g.OC * g.OH * g.OW;
        Conv2dKernel.BlockActivation forward = z is null ? activation : (first, block, ys) =>
        {
            block.CopyTo(z.Elements.Slice(first * image, block.Length));
            activation(first, block, ys);
        };
        Tensor[] inputs = bias is null ? [input, weight] : [input, weight, bias];
        Conv2dKernel.ForwardCached(g, input.Elements, weight.Elements, bias is null ? default : bias.Elements, bias is not null,
            y.Elements, false, default,
            default, PlanKey(inputs, weight), algorithm, forward, stored: z is null ? stored : default);
        return Autograd.RecordWithAddends(y, "ConvolutionActivationBackward", inputs, (dy, addends) =>
        {
            var grads = new ConvGradients(input, weight, bias, addends);
            fixed (float* pdy = dy.Elements, py = y.Elements, pz = z is null ? default : z.Elements)
                grads.Run(g, weight, training.Gradient(g, pdy, z is null ? py : pz, py), algorithm);
            GC.KeepAlive(z);
            return grads.ForInputs();
        });
    }

    /// <summary>
    /// pool(activation(conv2d(x, w, b))) recorded for training, <paramref name="pool"/> an <see cref="Nn.AvgPool2d"/> or
    /// <see cref="Nn.MaxPool2d"/>: each block of images is copied into a kept tensor as the convolution finishes it, then
    /// activated and pooled while in cache, so the activation's output is never stored; the backward rebuilds d conv one image
    /// at a time inside the convolution's (the pool's backward, the activation's again where its derivative reads it, then
    /// its derivative). The same bits as the three layers in a row.
    /// </summary>
    internal static unsafe Tensor Conv2dActivationPool(Tensor input, Tensor weight, Tensor? bias, Pair stride, Pair padding, Pair dilation,
        int groups, ConvAlgorithm algorithm, Conv2dKernel.BlockActivation activation, BlockActivations.TrainingForm training, Module pool)
    {
        var g = Conv2dGeometryOf(input, weight, bias, stride, padding, dilation, groups);
        int[] convShape = [g.N, g.OC, g.OH, g.OW];
        var (geometry, average, includePad) = PoolGeometry(convShape, pool);
        var pooled = Tensor.ForOp([g.N, g.OC, geometry.OH, geometry.OW]);
        var z = Tensor.ForOp(convShape);
        var argmax = average ? null : RentArgmax(pooled.Numel);
        int convImage = g.OC * g.OH * g.OW, pooledImage = g.OC * geometry.OH * geometry.OW;
        void KeepActivateAndPool(int first, Span<float> block, Span<float> pooledBlock)
        {
            block.CopyTo(z.Elements.Slice(first * convImage, block.Length));
            ActivateAndPool(activation, geometry, average, includePad, convImage, first, block, pooledBlock,
                average ? default : AsIndices(argmax!, pooled.Numel).Slice(first * pooledImage, pooledBlock.Length));
        }
        Tensor[] inputs = bias is null ? [input, weight] : [input, weight, bias];
        Conv2dKernel.ForwardCached(g, input.Elements, weight.Elements, bias is null ? default : bias.Elements, bias is not null,
            pooled.Elements, false, default,
            default, PlanKey(inputs, weight), algorithm, KeepActivateAndPool, outputImage: pooledImage);
        return Autograd.RecordWithAddends(pooled, "ConvolutionActivationPoolBackward", inputs, (dy, addends) =>
        {
            var grads = new ConvGradients(input, weight, bias, addends);
            fixed (float* pdy = dy.Elements, pz = z.Elements)
            fixed (int* pi = argmax is null ? default : AsIndices(argmax, pooled.Numel))
            {
                var source = training.PoolGradient(g, geometry, average, includePad, pdy, pi, pz, activation);
                grads.Run(g, weight, source, algorithm);
            }
            GC.KeepAlive(z);
            GC.KeepAlive(argmax);
            return grads.ForInputs();
        });
    }

    /// <summary>
    /// pool(activation(conv2d(x, w, b))) for inference, <paramref name="pool"/> an <see cref="Nn.AvgPool2d"/> or <see cref="Nn.MaxPool2d"/>:
    /// each block of images is activated and pooled while in cache, so neither the convolution's output nor the activation's
    /// is stored. Records nothing (as <see cref="Conv2dActivationInference"/>). The same bits as the three ops in a row.
    /// </summary>
    internal static Tensor Conv2dActivationPoolInference(Tensor input, Tensor weight, Tensor? bias, Pair stride, Pair padding, Pair dilation,
        int groups, ConvAlgorithm algorithm, Conv2dKernel.BlockActivation activation, Module pool)
    {
        var g = InferenceGeometry(input, weight, bias, stride, padding, dilation, groups);
        int[] convShape = [g.N, g.OC, g.OH, g.OW];
        var (geometry, average, includePad) = PoolGeometry(convShape, pool);
        var y = Tensor.ForOp([g.N, g.OC, geometry.OH, geometry.OW]);
        int convImage = g.OC * g.OH * g.OW;
        ConvolveInBlocks(g, input, weight, bias, y, algorithm,
            (first, z, pooled) => ActivateAndPool(activation, geometry, average, includePad, convImage, first, z, pooled, default),
            g.OC * geometry.OH * geometry.OW);
        return y;
    }

    /// <summary>
    /// relu(conv2d(x, w, b) + skip) for inference: a residual block's last convolution, its add and the ReLU after it
    /// (He et al. 2016, arXiv:1512.03385). Each block of images is added to its block of <paramref name="skip"/> and rectified
    /// while in cache, so the convolution's own output is never stored. Records nothing (as <see cref="Conv2dActivationInference"/>).
    /// The same bits as <c>AddRelu(Conv2d(x, w, b), skip)</c>. Null when skip's shape is not the convolution's output's, for
    /// the caller to report as the unfused ops would.
    /// </summary>
    internal static Tensor? Conv2dAddReluInference(Tensor input, Tensor weight, Tensor? bias, Pair stride, Pair padding, Pair dilation,
        int groups, ConvAlgorithm algorithm, Tensor skip)
    {
        var g = InferenceGeometry(input, weight, bias, stride, padding, dilation, groups);
        int[] shape = [g.N, g.OC, g.OH, g.OW];
        if (!Shape.Equal(shape, skip.Shape)) return null;
        if (Autograd.NeedsGrad([skip])) throw new InvalidOperationException("the fused inference convolution records no gradient");
        var y = Tensor.ForOp(shape);
        float[] residual = skip.Buffer;
        int image = g.OC * g.OH * g.OW;
        void AddRelu(int firstImage, Span<float> z, Span<float> block)
        {
            var s = residual.AsSpan(firstImage * image, z.Length);
            ElementwiseLoop.MapOnThisThread(new AddReluForward(), z, s, s, block);
        }
        ConvolveInBlocks(g, input, weight, bias, y, algorithm, AddRelu);
        GC.KeepAlive(skip);
        return y;
    }

    // The convolution into y with an epilogue on each block of images (outputImage: y's floats per image, 0: the convolution's
    // own), its weights' plan cached under their array.
    private static void ConvolveInBlocks(in Conv2dGeometry g, Tensor input, Tensor weight, Tensor? bias, Tensor y, ConvAlgorithm algorithm,
        Conv2dKernel.BlockActivation epilogue, int outputImage = 0, Rectifier stored = default) =>
        Conv2dKernel.ForwardCached(g, input.Elements, weight.Elements, bias is null ? default : bias.Elements, bias is not null,
            y.Elements, false, default, default,
            CachedWeightsOf(weight), algorithm, epilogue, outputImage: outputImage, stored: stored);

    private static Conv2dGeometry InferenceGeometry(Tensor input, Tensor weight, Tensor? bias, Pair stride, Pair padding, Pair dilation, int groups)
    {
        Tensor[] inputs = bias is null ? [input, weight] : [input, weight, bias];
        if (Autograd.NeedsGrad(inputs)) throw new InvalidOperationException("the fused inference convolution records no gradient");
        return Conv2dGeometryOf(input, weight, bias, stride, padding, dilation, groups);
    }

    // A block of the convolution's output activated in place, then pooled into `pooled` (a max pool's argmax into `argmax`,
    // none where it is empty), by the layers' own kernels.
    private static void ActivateAndPool(Conv2dKernel.BlockActivation activation, in Pool2dGeometry geometry, bool average, bool includePad,
        int convImage, int first, Span<float> block, Span<float> pooled, Span<int> argmax)
    {
        activation(first, block, block);
        var blockGeometry = geometry with { N = block.Length / convImage };
        if (average) AvgPool2dKernel.ForwardOnThisThread(blockGeometry, includePad, block, pooled);
        else MaxPool2dKernel.ForwardOnThisThread(blockGeometry, block, pooled, argmax);
    }

    // The geometry of an AvgPool2d or MaxPool2d on the convolution's output, whether it averages, and its count_include_pad.
    private static (Pool2dGeometry Geometry, bool Average, bool IncludePad) PoolGeometry(int[] convShape, Module pool) => pool switch
    {
        AvgPool2d a => (Pool2dGeometryOf(convShape, a.KernelSize, a.Stride, a.Padding, 1, a.CeilMode), true, a.CountIncludePad),
        MaxPool2d m => (Pool2dGeometryOf(convShape, m.KernelSize, m.Stride, m.Padding, m.Dilation, m.CeilMode), false, false),
        _ => throw new ArgumentException($"a fused pool is AvgPool2d or MaxPool2d, not {pool.GetType().Name}", nameof(pool)),
    };
}
