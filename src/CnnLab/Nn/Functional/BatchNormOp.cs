using CnnLab.Kernels;
using CnnLab.Tensors;

namespace CnnLab.Nn;

public static partial class Functional
{
    /// <summary>
    /// Batch normalization (Ioffe &amp; Szegedy 2015, arXiv:1502.03167) over x [N, C] or [N, C, *]:
    /// y = (x − μ)/√(σ² + eps)·γ + β per channel. In training μ, σ² are the batch's mean and biased
    /// variance, and the running statistics are updated in place with
    /// r ← (1 − momentum)·r + momentum·batch (the variance with the unbiased M/(M−1) correction);
    /// momentum null means a cumulative average (factor 1/numBatchesTracked, as PyTorch).
    /// In evaluation μ, σ² are the running statistics.
    /// </summary>
    /// <remarks>PyTorch: <c>torch.nn.functional.batch_norm</c>.</remarks>
    public static Tensor BatchNorm(Tensor x, Tensor? runningMean, Tensor? runningVar, Tensor? weight, Tensor? bias,
        bool training, double momentum, float eps)
    {
        var plan = BatchNormPlan.Make(x, runningMean, runningVar, weight, bias, training, momentum, eps);
        var y = Tensor.ForOp(x.Shape);
        BatchNormKernel.ScaleShift(x.Elements, y.Elements, plan.N, plan.C, plan.S, plan.Scale, plan.Shift);
        return Autograd.Record(y, "BatchNormBackward", plan.Inputs, dy =>
        {
            unsafe
            {
                fixed (float* pdy = dy.Elements) return plan.Gradients(new StoredPlanes(pdy, plan.S));
            }
        });
    }

    /// <summary>
    /// max_pool2d(relu(batch_norm(x, ...))) over x [N, C, H, W] as one op
    /// (<see cref="BatchNormReluMaxPoolKernel"/>): each normalized plane is pooled while in cache and
    /// the batch-norm and ReLU outputs are never stored; the backward is batch norm's, with its output
    /// gradient rebuilt plane by plane from the pooled values and argmax indices. Same values and
    /// gradients as the three ops in a row, bit for bit. <see cref="Sequential"/> runs BatchNorm2d → ReLU →
    /// MaxPool2d this way when none of the three has forward hooks.
    /// </summary>
    /// <remarks>PyTorch: <c>F.max_pool2d(F.relu(F.batch_norm(x, ...)), ...)</c>, fused.</remarks>
    public static Tensor BatchNormReluMaxPool2d(Tensor x, Tensor? runningMean, Tensor? runningVar, Tensor? weight, Tensor? bias,
        bool training, double momentum, float eps, Pair poolKernel, Pair? poolStride = null, Pair? poolPadding = null, Pair? poolDilation = null,
        bool ceilMode = false)
    {
        if (x.Rank != 4)
            return MaxPool2d(Relu(BatchNorm(x, runningMean, runningVar, weight, bias, training, momentum, eps)), poolKernel, poolStride, poolPadding,
                poolDilation, ceilMode);
        var pool = Pool2dGeometryOf(x.Shape, poolKernel, poolStride ?? poolKernel, poolPadding ?? 0, poolDilation ?? 1, ceilMode);
        var plan = BatchNormPlan.Make(x, runningMean, runningVar, weight, bias, training, momentum, eps);
        var y = Tensor.ForOp([pool.N, pool.C, pool.OH, pool.OW]);
        var argmax = RentArgmax(y.Numel);
        BatchNormReluMaxPoolKernel.Forward(x.Elements, pool, plan.Scale, plan.Shift, y.Elements, AsIndices(argmax, y.Numel));
        return Autograd.Record(y, "BatchNormReluMaxPoolBackward", plan.Inputs, dy =>
        {
            // y = maxpool(max(0, z)), z = batch_norm(x)  →  dz[argmax] += dy·[y > 0], then batch norm's backward.
            unsafe
            {
                fixed (float* pdy = dy.Elements, py = y.Elements, pidx = argmax.Elements)
                    return plan.Gradients(new MaxPoolReluPlanes(pdy, py, (int*)pidx, pool));
            }
        });
    }

    // One batch-norm call: its sizes, statistics and folded affine (scale, shift), and its backward.
    private sealed class BatchNormPlan
    {
        public required Tensor X { get; init; }
        public Tensor? Weight { get; init; }
        public Tensor? Bias { get; init; }
        public int N { get; init; }
        public int C { get; init; }
        public int S { get; init; }
        public bool UseBatchStats { get; init; }
        public required double[] Mean { get; init; }
        public required double[] InvStd { get; init; }
        public required float[] Scale { get; init; }
        public required float[] Shift { get; init; }

        public Tensor[] Inputs => new[] { X, Weight, Bias }.OfType<Tensor>().ToArray();

        // Checks the call, computes the statistics (updating the running ones in training) and folds the affine.
        // planeStatistics: each plane's mean and squared deviations, taken by the op that wrote x (batch statistics only).
        public static BatchNormPlan Make(Tensor x, Tensor? runningMean, Tensor? runningVar, Tensor? weight, Tensor? bias,
            bool training, double momentum, float eps, (double[] Means, double[] Squares)? planeStatistics = null)
        {
            if (x.Rank < 2) throw new ArgumentException($"BatchNorm expects input [N, C, *], got {Shape.Format(x.Shape)}");
            int n = x.Shape[0], c = x.Shape[1], s = x.Numel / Math.Max(1, n * c);
            foreach (var (t, what) in new[] { (runningMean, "running_mean"), (runningVar, "running_var"), (weight, "weight"), (bias, "bias") })
                if (t is not null && t.Numel != c)
                    throw new ArgumentException(
                        $"BatchNorm {what} has {t.Numel} elements, expected {c} (the input's channels, input {Shape.Format(x.Shape)})");
            bool useBatchStats = training || runningMean is null || runningVar is null;
            int m = n * s;
            if (useBatchStats && m <= 1)
                throw new ArgumentException($"Expected more than 1 value per channel when training, got input size {Shape.Format(x.Shape)}");

            var mean = new double[c];
            var invStd = new double[c];
            if (useBatchStats)
            {
                var variance = new double[c];
                if (planeStatistics is var (means, squares)) BatchNormKernel.StatisticsFromPlanes(means, squares, n, c, s, mean, variance);
                else BatchNormKernel.Statistics(x.Elements, n, c, s, mean, variance);
                for (int ch = 0; ch < c; ch++) invStd[ch] = 1.0 / Math.Sqrt(variance[ch] + eps);
                if (training && runningMean is not null && runningVar is not null)
                {
                    var rm = runningMean.Elements; var rv = runningVar.Elements;
                    for (int ch = 0; ch < c; ch++)
                    {
                        double unbiased = variance[ch] * m / (m - 1);
                        rm[ch] = (float)((1 - momentum) * rm[ch] + momentum * mean[ch]);
                        rv[ch] = (float)((1 - momentum) * rv[ch] + momentum * unbiased);
                    }
                    runningMean.NoteWrite();
                    runningVar.NoteWrite();
                }
            }
            else
            {
                for (int ch = 0; ch < c; ch++)
                {
                    mean[ch] = runningMean!.Elements[ch];
                    invStd[ch] = 1.0 / Math.Sqrt(runningVar!.Elements[ch] + (double)eps);
                }
            }

            var scale = new float[c];
            var shift = new float[c];
            for (int ch = 0; ch < c; ch++)
            {
                double g = weight is null ? 1.0 : weight.Elements[ch];
                double b = bias is null ? 0.0 : bias.Elements[ch];
                scale[ch] = (float)(g * invStd[ch]);
                shift[ch] = (float)(b - mean[ch] * g * invStd[ch]);
            }
            return new BatchNormPlan
            {
                X = x, Weight = weight, Bias = bias, N = n, C = c, S = s, UseBatchStats = useBatchStats,
                Mean = mean, InvStd = invStd, Scale = scale, Shift = shift,
            };
        }

        // dx, dγ, dβ (in the order of Inputs) from the output gradient, given plane by plane.
        public Tensor?[] Gradients(PlaneGradient dy)
        {
            var sumDy = new double[C];
            var sumDyXhat = new double[C];
            var gamma = Gamma();
            Tensor? dx = X.RequiresGrad ? Tensor.ForOp(X.Shape) : null;
            if (UseBatchStats)
            {
                // x̂ = (x − μ)·invStd, y = γx̂ + β, μ and σ² depend on x:
                // dx = γ·invStd/M · (M·dy − Σdy − x̂·Σ(dy·x̂)), the sums and dx one channel at a time.
                BatchNormKernel.BackwardFrom(dy, X.Elements, dx is null ? default : dx.Elements, N, C, S, Mean, InvStd, gamma, sumDy, sumDyXhat);
            }
            else
            {
                BatchNormKernel.GradientSumsFrom(dy, X.Elements, N, C, S, Mean, InvStd, sumDy, sumDyXhat);
                if (dx is not null)
                {
                    // running statistics are constants: dx = dy·γ·invStd
                    var scratch = new float[S];
                    for (int plane = 0; plane < N * C; plane++)
                    {
                        int ch = plane % C;
                        TensorPrimitives.Multiply(dy.Plane(plane, scratch), (float)(gamma[ch] * InvStd[ch]), dx.Elements.Slice(plane * S, S));
                    }
                }
            }
            return [dx, .. AffineGradients(sumDy, sumDyXhat)];
        }

        // γ per channel (1 without affine weights).
        public double[] Gamma()
        {
            var gamma = new double[C];
            for (int ch = 0; ch < C; ch++) gamma[ch] = Weight is null ? 1.0 : Weight.Elements[ch];
            return gamma;
        }

        // dγ, dβ for the affine parameters that exist (in the order of Inputs), from the gradient sums.
        public Tensor?[] AffineGradients(double[] sumDy, double[] sumDyXhat)
        {
            // y = γ·x̂ + β  →  dγ = Σ dy·x̂,  dβ = Σ dy
            var result = new List<Tensor?>();
            if (Weight is not null) result.Add(Weight.RequiresGrad ? new Tensor(sumDyXhat.Select(v => (float)v).ToArray(), C) : null);
            if (Bias is not null) result.Add(Bias.RequiresGrad ? new Tensor(sumDy.Select(v => (float)v).ToArray(), C) : null);
            return [.. result];
        }
    }
}
