using System.Buffers;
using CnnLab.Kernels;
using CnnLab.Tensors;

namespace CnnLab.Nn;

public static partial class Functional
{
    /// <summary>
    /// batch_norm(conv2d(x, w, b), ...), or relu of it, as one op in training: the convolution takes each output plane's
    /// statistics while the image is in cache, batch norm (and the ReLU) then write y in one pass; the backward takes batch
    /// norm's gradient sums over the batch, then runs the convolution's backward with dL/dz made one image at a time from
    /// them (<see cref="BatchNormOutputGradient"/>), so neither the ReLU's gradient nor dL/dz is written to memory and read
    /// back. Same values and gradients as the ops in a row, bit for bit. With running statistics (evaluation) the ops run
    /// one after the other (the fusion pass folds the batch norm into the convolution there instead).
    /// </summary>
    /// <remarks>PyTorch: <c>F.relu(F.batch_norm(F.conv2d(...), ...))</c>, fused (a ResNet block's conv → BN → ReLU).</remarks>
    public static Tensor Conv2dBatchNorm(Tensor input, Tensor weight, Tensor? bias, Pair stride, Pair padding, Pair dilation, int groups,
        Tensor? runningMean, Tensor? runningVar, Tensor? bnWeight, Tensor? bnBias, bool training, double momentum, float eps, bool relu = false,
        ConvAlgorithm algorithm = ConvAlgorithm.Auto)
    {
        bool batchStatistics = training || runningMean is null || runningVar is null;
        if (input.Rank != 4 || !batchStatistics)
        {
            var normalized = BatchNorm(Conv2d(input, weight, bias, stride, padding, dilation, groups, algorithm), runningMean, runningVar,
                bnWeight, bnBias, training, momentum, eps);
            return relu ? Relu(normalized) : normalized;
        }
        var g = Conv2dGeometryOf(input, weight, bias, stride, padding, dilation, groups);
        var (z, plan) = ConvWithBatchStatistics(g, input, weight, bias, runningMean, runningVar, bnWeight, bnBias, training, momentum, eps,
            algorithm);
        var y = Tensor.ForOp(z.Shape);
        BatchNormKernel.ScaleShift(z.Elements, y.Elements, plan.N, plan.C, plan.S, plan.Scale, plan.Shift, relu);
        Tensor[] inputs = [input, weight, .. new[] { bias, bnWeight, bnBias }.OfType<Tensor>()];
        AskForSums(y, z, plan, inputs, relu);
        return Autograd.RecordWithAddends(y, relu ? "ConvolutionBatchNormReluBackward" : "ConvolutionBatchNormBackward", inputs, (dy, addends) =>
        {
            // y = relu?(u), u = batch_norm(z), z = W ⋆ x + b  →  du = dy (·[u > 0], u recomputed from z, which the backward reads
            // anyway, rather than y read, unless the next convolution masked dy already); dz = a·du + b·(z − μ) + c per channel.
            bool premasked = ReferenceEquals(dy.PremaskedFor, y);
            unsafe
            {
                fixed (float* pdy = dy.Elements, pz = z.Elements)
                {
                    PlaneGradient du = relu && !premasked ? new ScaleShiftReluMaskedPlanes(pdy, pz, plan.Scale, plan.Shift, plan.C, plan.S)
                        : new StoredPlanes(pdy, plan.S);
                    return ConvBatchNormGradients(g, input, weight, bias, z, plan, du, algorithm, addends, TakeSums(y, dy, premasked));
                }
            }
        });
    }

    /// <summary>
    /// relu(batch_norm(conv2d(x, w, b), ...) + skip) in training, as one op: a residual block's last convolution, its batch
    /// norm on the batch's statistics, the add of the shortcut and the ReLU after it. The convolution takes the statistics
    /// as in <see cref="Conv2dBatchNorm"/>, then one pass writes relu(z·scale + shift + skip), so the batch norm's output is
    /// never written and read back. The backward masks dy once (d = dy·[y &gt; 0], the shortcut's gradient; a dy the next
    /// block's convolution masked already is d itself, with the batch norm's gradient sums taken from it) and runs the
    /// convolution's backward with batch norm's gradient made from d. Same values and gradients as the ops in a row, bit
    /// for bit. Null where the shapes do not fit or the batch norm runs on running statistics, for the caller to run the ops;
    /// <paramref name="countBatch"/> (the batch norm's running-statistics factor, counting this batch) is called only when it runs.
    /// </summary>
    internal static Tensor? Conv2dBatchNormAddRelu(Tensor input, Tensor weight, Tensor? bias, Pair stride, Pair padding, Pair dilation,
        int groups, Tensor? runningMean, Tensor? runningVar, Tensor? bnWeight, Tensor? bnBias, bool training, Func<double> countBatch,
        float eps, Tensor skip, ConvAlgorithm algorithm)
    {
        bool batchStatistics = training || runningMean is null || runningVar is null;
        if (input.Rank != 4 || !batchStatistics) return null;
        var g = Conv2dGeometryOf(input, weight, bias, stride, padding, dilation, groups);
        if (!Shape.Equal(skip.Shape, [g.N, g.OC, g.OH, g.OW])) return null;
        double momentum = countBatch();
        var (z, plan) = ConvWithBatchStatistics(g, input, weight, bias, runningMean, runningVar, bnWeight, bnBias, training, momentum, eps,
            algorithm);
        var y = Tensor.ForOp(z.Shape);
        BatchNormKernel.ScaleShiftAddRelu(z.Elements, skip.Elements, y.Elements, plan.N, plan.C, plan.S, plan.Scale, plan.Shift);
        Tensor[] inputs = [input, weight, .. new[] { bias, bnWeight, bnBias }.OfType<Tensor>(), skip];
        AskForSums(y, z, plan, inputs, relu: true);
        return Autograd.RecordWithAddends(y, "ConvolutionBatchNormAddReluBackward", inputs, (dy, addends) =>
        {
            // y = relu(u + skip), u = batch_norm(z)  →  du = dskip = dy·[y > 0], one tensor for both (as AddRelu's backward),
            // unless the next block's convolution masked dy already (with the shortcut's gradient added in: InputGradientAddends).
            bool premasked = ReferenceEquals(dy.PremaskedFor, y);
            var d = dy;
            if (!premasked)
            {
                d = Tensor.ForOp(y.Shape);
                ReluKernel.Backward(y.Elements, dy.Elements, d.Elements);
            }
            unsafe
            {
                fixed (float* pd = d.Elements)
                    return [.. ConvBatchNormGradients(g, input, weight, bias, z, plan, new StoredPlanes(pd, plan.S), algorithm, addends,
                            TakeSums(y, dy, premasked)),
                        skip.RequiresGrad ? d : null];
            }
        });
    }

    // y, a batch norm → ReLU's output (where relu), says so, and asks the convolution that reads it for the batch norm's
    // gradient sums: that convolution then hands dy back masked, with the sums taken from it (taken only once this op is
    // recorded: Tensor.AcceptsPremaskedGradient; TakeSums in the backward).
    private static void AskForSums(Tensor y, Tensor z, BatchNormPlan plan, Tensor[] inputs, bool relu)
    {
        y.IsReluOutput = relu;
        y.BatchNormSumsWanted = relu && Autograd.NeedsGrad(inputs)
            ? new BatchNormGradientSums(z.Buffer, z, plan.Mean, plan.N, plan.C, plan.S) : null;
    }

    // The gradient sums the next convolution took for y's batch norm, where they were taken from dy itself (premasked: the same
    // values as du), else null; either way y asks for none after its backward (a second one with retainGraph takes the pass),
    // so a y kept by its user holds neither the sums nor the gradient they came from.
    private static BatchNormGradientSums? TakeSums(Tensor y, Tensor dy, bool premasked)
    {
        var sums = y.BatchNormSumsWanted;
        y.BatchNormSumsWanted = null;
        return premasked && sums is not null && ReferenceEquals(sums.TakenFrom, dy) ? sums : null;
    }

    // z = conv(x) with each plane's mean and squared deviations taken as it is written, and batch norm's plan from them.
    private static (Tensor Z, BatchNormPlan Plan) ConvWithBatchStatistics(in Conv2dGeometry g, Tensor input, Tensor weight, Tensor? bias,
        Tensor? runningMean, Tensor? runningVar, Tensor? bnWeight, Tensor? bnBias, bool training, double momentum, float eps, ConvAlgorithm algorithm)
    {
        var z = Tensor.ForOp([g.N, g.OC, g.OH, g.OW]);
        int planes = g.N * g.OC;
        var (planeMeans, planeSquares) = (ArrayPool<double>.Shared.Rent(planes), ArrayPool<double>.Shared.Rent(planes));
        try
        {
            Conv2dKernel.Forward(g, input.Elements, weight.Elements, bias is null ? default : bias.Elements, bias is not null, z.Elements,
                planeMeans: planeMeans.AsSpan(0, planes), planeSquares: planeSquares.AsSpan(0, planes), algorithm: algorithm);
            return (z, BatchNormPlan.Make(z, runningMean, runningVar, bnWeight, bnBias, training, momentum, eps, (planeMeans, planeSquares)));
        }
        finally
        {
            ArrayPool<double>.Shared.Return(planeMeans);
            ArrayPool<double>.Shared.Return(planeSquares);
        }
    }

    // dx, dW, db of the convolution, then dγ, dβ, from batch norm's output gradient du given plane by plane (and its gradient
    // sums where the next convolution took them: `taken`).
    private static unsafe Tensor?[] ConvBatchNormGradients(in Conv2dGeometry g, Tensor input, Tensor weight, Tensor? bias, Tensor z,
        BatchNormPlan plan, PlaneGradient du, ConvAlgorithm algorithm, InputGradientAddends addends, BatchNormGradientSums? taken = null)
    {
        int c = plan.C;
        var sumDy = new double[c];
        var sumDyXhat = new double[c];
        var grads = new ConvGradients(input, weight, bias, addends);
        fixed (float* pz = z.Elements)
        {
            // The gradient sums, unless the convolution that wrote du took them from it (BatchNormGradientSums).
            if (taken is not null) taken.ChannelSums(plan.InvStd, sumDy, sumDyXhat);
            else BatchNormKernel.GradientSumsFrom(du, z.Elements, plan.N, c, plan.S, plan.Mean, plan.InvStd, sumDy, sumDyXhat);
            var coefficients = BatchNormKernel.PlaneCoefficients(plan.N, c, plan.S, plan.Mean, plan.InvStd, plan.Gamma(), sumDy, sumDyXhat);
            grads.Run(g, weight, new BatchNormOutputGradient(g, du, pz, coefficients), algorithm);
        }
        return [.. grads.ForInputs(), .. plan.AffineGradients(sumDy, sumDyXhat)];
    }
}
