using CnnLab.Kernels;
using CnnLab.Tensors;

namespace CnnLab.Nn;

/// <summary>
/// Conv2d (→ BatchNorm2d) (→ ReLU) (→ MaxPool2d) as found by <see cref="FusionPlan"/>, run as few ops as the mode allows:
/// <list type="bullet">
/// <item>a batch norm on running statistics whose parameters need no gradient (eval, inference) is folded into the
/// convolution's weights (<see cref="BatchNormFolding"/>), and the ReLU and the pool then ride on the convolution;</item>
/// <item>in training, conv → batch norm (→ ReLU) (→ pool) is one op that takes the batch statistics while each image is
/// in cache (<see cref="Functional.Conv2dBatchNorm"/>, <see cref="Functional.Conv2dBatchNormReluMaxPool2d"/>), and
/// conv → ReLU (→ pool) puts the ReLU in the convolution's epilogue (<see cref="Functional.Conv2dRelu"/>,
/// <see cref="Functional.Conv2dReluMaxPool2d"/>);</item>
/// <item>in inference (nothing needs a gradient), conv (→ folded batch norm) → LeakyReLU, ELU, GELU, sigmoid or tanh
/// (→ AvgPool2d or MaxPool2d) applies the activation, and the pool, to each block of images as the convolution finishes it
/// (<see cref="BlockActivations"/>);</item>
/// <item>in training, conv → one of those activations does the same (keeping the convolution's output where the derivative
/// needs it: GELU, a negative slope or α), and its backward takes the derivative inside the convolution's
/// (<see cref="Functional.Conv2dActivation"/>);</item>
/// <item>anything else runs layer by layer.</item>
/// </list>
/// Every training path gives the unfused layers' bits; folding rounds differently (as PyTorch's does), to ~1e-6 relative.
/// </summary>
internal sealed class ConvBlock(Conv2d conv, BatchNorm2d? norm, bool relu, MaxPool2d? pool, Module? activation = null, Module? activationPool = null)
{
    private readonly BatchNormFolding? _folding = norm is null ? null : new BatchNormFolding(conv, norm);
    private readonly Conv2dKernel.BlockActivation? _blockActivation = BlockActivations.For(activation);
    private readonly BlockActivations.TrainingForm? _training = BlockActivations.ForTraining(activation);
    private readonly Rectifier _stored = BlockActivations.Stored(activation);

    public Tensor Forward(Tensor x)
    {
        if (activation is not null) return ForwardWithActivation(x, activation);
        if (norm is null)
            return pool is not null ? ConvReluPool(x, conv.Weight, conv.Bias) : Functional.Conv2dRelu(x, conv.Weight, conv.Bias, conv.Stride,
                conv.Padding, conv.Dilation, conv.Groups, conv.Algorithm);
        bool shapesFit = x.Rank == 4 && x.Shape[1] == conv.InChannels && conv.OutChannels == norm.NumFeatures;
        if (shapesFit && _folding!.Applies)
        {
            var (w, b) = _folding.Get();
            if (pool is not null) return ConvReluPool(x, w, b);
            return relu ? Functional.Conv2dRelu(x, w, b, conv.Stride, conv.Padding, conv.Dilation, conv.Groups, conv.Algorithm)
                : Functional.Conv2d(x, w, b, conv.Stride, conv.Padding, conv.Dilation, conv.Groups, conv.Algorithm);
        }
        if (pool is null)
        {
            if (!shapesFit)
            {
                var y = norm.Forward(conv.Forward(x));
                return relu ? Functional.Relu(y) : y;
            }
            double batchFactor = norm.CountBatch();
            return Functional.Conv2dBatchNorm(x, conv.Weight, conv.Bias, conv.Stride, conv.Padding, conv.Dilation, conv.Groups,
                norm.RunningMean, norm.RunningVar, norm.Weight, norm.Bias, norm.Training, batchFactor, norm.Eps, relu, conv.Algorithm);
        }
        // Only a 4-D input gives the 4-D output a BatchNorm2d accepts; the unfused path reports the errors.
        if (!shapesFit) return BatchNormReluMaxPool(norm, pool, conv.Forward(x));
        double factor = norm.CountBatch();
        return Functional.Conv2dBatchNormReluMaxPool2d(x, conv.Weight, conv.Bias, conv.Stride, conv.Padding, conv.Dilation, conv.Groups,
            norm.RunningMean, norm.RunningVar, norm.Weight, norm.Bias, norm.Training, factor, norm.Eps,
            pool.KernelSize, pool.Stride, pool.Padding, pool.Dilation, pool.CeilMode, conv.Algorithm);
    }

    /// <summary>
    /// relu(this block(x) + skip) in one pass where the block is a bare convolution (→ batch norm folded) and nothing needs a
    /// gradient (<see cref="Functional.Conv2dAddReluInference"/>), or a convolution → batch norm on the batch's statistics
    /// (<see cref="Functional.Conv2dBatchNormAddRelu"/>, training); null otherwise, and when skip's shape does not fit, for the
    /// caller to run the layers and the add one after the other.
    /// </summary>
    public Tensor? ForwardAddRelu(Tensor x, Tensor skip)
    {
        if (activation is not null || relu || pool is not null) return null;
        if (norm is not null && x.Rank == 4 && x.Shape[1] == conv.InChannels && conv.OutChannels == norm.NumFeatures && !_folding!.Applies)
            return Functional.Conv2dBatchNormAddRelu(x, conv.Weight, conv.Bias, conv.Stride, conv.Padding, conv.Dilation, conv.Groups,
                norm.RunningMean, norm.RunningVar, norm.Weight, norm.Bias, norm.Training, norm.CountBatch, norm.Eps, skip, conv.Algorithm);
        if (InferenceWeights(x) is not { } weights) return null;
        var (w, b) = weights;
        Tensor[] inputs = b is null ? [x, w, skip] : [x, w, b, skip];
        if (Autograd.NeedsGrad(inputs)) return null;
        return Functional.Conv2dAddReluInference(x, w, b, conv.Stride, conv.Padding, conv.Dilation, conv.Groups, conv.Algorithm, skip);
    }

    private Tensor ForwardWithActivation(Tensor x, Module layer)
    {
        if (InferenceWeights(x) is { } weights)
        {
            var (w, b) = weights;
            Tensor[] inputs = b is null ? [x, w] : [x, w, b];
            if (!Autograd.NeedsGrad(inputs))
                return activationPool is null
                    ? Functional.Conv2dActivationInference(x, w, b, conv.Stride, conv.Padding, conv.Dilation, conv.Groups, conv.Algorithm,
                        _blockActivation!, _stored)
                    : Functional.Conv2dActivationPoolInference(x, w, b, conv.Stride, conv.Padding, conv.Dilation, conv.Groups, conv.Algorithm,
                        _blockActivation!, activationPool);
        }
        Tensor y;
        if (norm is null && _training is not null && x.Rank == 4 && x.Shape[1] == conv.InChannels)
        {
            if (activationPool is not null)
                return Functional.Conv2dActivationPool(x, conv.Weight, conv.Bias, conv.Stride, conv.Padding, conv.Dilation, conv.Groups,
                    conv.Algorithm, _blockActivation!, _training, activationPool);
            y = Functional.Conv2dActivation(x, conv.Weight, conv.Bias, conv.Stride, conv.Padding, conv.Dilation, conv.Groups, conv.Algorithm,
                _blockActivation!, _training, _stored);
        }
        else
        {
            y = conv.Forward(x);
            if (norm is not null) y = norm.Forward(y);
            y = layer.Forward(y);
        }
        return activationPool is null ? y : activationPool.Forward(y);
    }

    // The weights this block runs one convolution with where x fits its layers: the convolution's own, or with the batch norm
    // folded in where it runs on its running statistics; null where the block must run as its layers (the caller still checks
    // that nothing needs a gradient).
    private (Tensor W, Tensor? B)? InferenceWeights(Tensor x)
    {
        bool shapesFit = x.Rank == 4 && x.Shape[1] == conv.InChannels && (norm is null || conv.OutChannels == norm.NumFeatures);
        if (!shapesFit || (norm is not null && !_folding!.Applies)) return null;
        return norm is null ? (conv.Weight, conv.Bias) : _folding!.Get();
    }

    private Tensor ConvReluPool(Tensor x, Tensor w, Tensor? b) =>
        Functional.Conv2dReluMaxPool2d(x, w, b, conv.Stride, conv.Padding, conv.Dilation, conv.Groups,
            pool!.KernelSize, pool.Stride, pool.Padding, pool.Dilation, pool.CeilMode, conv.Algorithm);

    /// <summary>pool(relu(norm(x))) as one op (<see cref="Functional.BatchNormReluMaxPool2d"/>), with the batch norm's own checks.</summary>
    public static Tensor BatchNormReluMaxPool(BatchNorm norm, MaxPool2d pool, Tensor x)
    {
        norm.CheckInput(x);
        double factor = norm.CountBatch();
        return Functional.BatchNormReluMaxPool2d(x, norm.RunningMean, norm.RunningVar, norm.Weight, norm.Bias, norm.Training, factor, norm.Eps,
            pool.KernelSize, pool.Stride, pool.Padding, pool.Dilation, pool.CeilMode);
    }
}
