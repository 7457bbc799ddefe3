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
        if (x.Rank < 2) throw new ArgumentException($"BatchNorm expects input [N, C, *], got {Shape.Format(x.Shape)}");
        int n = x.Shape[0], c = x.Shape[1], s = x.Numel / Math.Max(1, n * c);
        foreach (var (t, what) in new[] { (runningMean, "running_mean"), (runningVar, "running_var"), (weight, "weight"), (bias, "bias") })
            if (t is not null && t.Numel != c)
                throw new ArgumentException($"BatchNorm {what} has {t.Numel} elements, expected {c} (the input's channels, input {Shape.Format(x.Shape)})");
        bool useBatchStats = training || runningMean is null || runningVar is null;
        int m = n * s;
        if (useBatchStats && m <= 1)
            throw new ArgumentException($"Expected more than 1 value per channel when training, got input size {Shape.Format(x.Shape)}");

        var mean = new double[c];
        var invStd = new double[c];
        if (useBatchStats)
        {
            var variance = new double[c];
            BatchNormKernel.Statistics(x.Data, n, c, s, mean, variance);
            for (int ch = 0; ch < c; ch++) invStd[ch] = 1.0 / Math.Sqrt(variance[ch] + eps);
            if (training && runningMean is not null && runningVar is not null)
            {
                var rm = runningMean.Data; var rv = runningVar.Data;
                for (int ch = 0; ch < c; ch++)
                {
                    double unbiased = variance[ch] * m / (m - 1);
                    rm[ch] = (float)((1 - momentum) * rm[ch] + momentum * mean[ch]);
                    rv[ch] = (float)((1 - momentum) * rv[ch] + momentum * unbiased);
                }
            }
        }
        else
        {
            for (int ch = 0; ch < c; ch++)
            {
                mean[ch] = runningMean!.Data[ch];
                invStd[ch] = 1.0 / Math.Sqrt(runningVar!.Data[ch] + (double)eps);
            }
        }

        var scale = new float[c];
        var shift = new float[c];
        for (int ch = 0; ch < c; ch++)
        {
            double g = weight is null ? 1.0 : weight.Data[ch];
            double b = bias is null ? 0.0 : bias.Data[ch];
            scale[ch] = (float)(g * invStd[ch]);
            shift[ch] = (float)(b - mean[ch] * g * invStd[ch]);
        }
        var y = Tensor.ForOp(x.Shape);
        BatchNormKernel.ScaleShift(x.Data, y.Data, n, c, s, scale, shift);

        var inputs = new List<Tensor> { x };
        if (weight is not null) inputs.Add(weight);
        if (bias is not null) inputs.Add(bias);
        return Autograd.Record(y, "BatchNormBackward", [.. inputs], dy =>
        {
            var sumDy = new double[c];
            var sumDyXhat = new double[c];
            BatchNormKernel.GradientSums(dy.Data, x.Data, n, c, s, mean, invStd, sumDy, sumDyXhat);
            Tensor? dx = null;
            if (x.RequiresGrad)
            {
                dx = Tensor.ForOp(x.Shape);
                var gamma = new double[c];
                for (int ch = 0; ch < c; ch++) gamma[ch] = weight is null ? 1.0 : weight.Data[ch];
                if (useBatchStats)
                {
                    // x̂ = (x − μ)·invStd, y = γx̂ + β, μ and σ² depend on x:
                    // dx = γ·invStd/M · (M·dy − Σdy − x̂·Σ(dy·x̂))
                    BatchNormKernel.InputGradient(dy.Data, x.Data, dx.Data, n, c, s, mean, invStd, gamma, sumDy, sumDyXhat);
                }
                else
                {
                    // running statistics are constants: dx = dy·γ·invStd
                    for (int i = 0; i < n; i++)
                        for (int ch = 0; ch < c; ch++)
                        {
                            int off = (i * c + ch) * s;
                            TensorPrimitives.Multiply(dy.Data.Slice(off, s), (float)(gamma[ch] * invStd[ch]), dx.Data.Slice(off, s));
                        }
                }
            }
            // y = γ·x̂ + β  →  dγ = Σ dy·x̂,  dβ = Σ dy
            Tensor? dWeight = weight is not null && weight.RequiresGrad ? new Tensor(sumDyXhat.Select(v => (float)v).ToArray(), c) : null;
            Tensor? dBias = bias is not null && bias.RequiresGrad ? new Tensor(sumDy.Select(v => (float)v).ToArray(), c) : null;
            var result = new List<Tensor?> { dx };
            if (weight is not null) result.Add(dWeight);
            if (bias is not null) result.Add(dBias);
            return [.. result];
        });
    }
}
