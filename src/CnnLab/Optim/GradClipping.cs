using CnnLab.Tensors;

namespace CnnLab.Optim;

/// <summary>
/// Gradient clipping, applied between <c>Backward()</c> and <c>Step()</c>. Parameters without a gradient are ignored.
/// </summary>
/// <remarks>PyTorch: <c>torch.nn.utils.clip_grad_norm_</c> and <c>clip_grad_value_</c>. Differences: the norms are
/// accumulated in double (PyTorch sums in float32, so the total norm may differ in the last bits), and
/// <see cref="ClipGradValue"/> returns the total 2-norm before clipping (PyTorch returns None).</remarks>
public static class GradClipping
{
    /// <summary>
    /// Scales all gradients together so that their joint norm is at most <paramref name="maxNorm"/>:
    /// total = ‖(‖g₁‖ₚ, …, ‖gₖ‖ₚ)‖ₚ over the parameters' gradients (p = <paramref name="normType"/>,
    /// <see cref="double.PositiveInfinity"/> for the max-norm); c = maxNorm / (total + 1e-6), clamped to ≤ 1;
    /// every g ← c·g (in float32, as PyTorch). Returns the total norm before clipping.
    /// Reference: Pascanu, Mikolov and Bengio, "On the difficulty of training recurrent neural networks", 2013, arXiv:1211.5063.
    /// </summary>
    public static double ClipGradNorm(IEnumerable<Tensor> parameters, double maxNorm, double normType = 2)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(normType > 0)) throw new ArgumentException($"normType must be positive or +infinity, got {normType}", nameof(normType));
        var grads = parameters.Select(p => p.Grad).OfType<Tensor>().ToList();
        if (grads.Count == 0) return 0;
        double total = 0;
        foreach (var g in grads)
        {
            float norm = (float)Norm(g.Elements, normType);   // PyTorch: one float32 norm per tensor, then the norm of those
            total = double.IsPositiveInfinity(normType) ? Math.Max(total, norm) : total + Math.Pow(norm, normType);
        }
        float totalNorm = (float)(double.IsPositiveInfinity(normType) ? total : Math.Pow(total, 1 / normType));
        float clipCoef = Math.Min((float)maxNorm / (totalNorm + 1e-6f), 1f);
        foreach (var g in grads) TensorPrimitives.Multiply(g.Elements, clipCoef, g.Elements);
        return totalNorm;
    }

    /// <summary>Clamps every gradient element to [−clipValue, clipValue]; returns the total 2-norm of the gradients before clipping.</summary>
    public static double ClipGradValue(IEnumerable<Tensor> parameters, double clipValue)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(clipValue >= 0)) throw new ArgumentException($"clipValue must be non-negative, got {clipValue}", nameof(clipValue));
        var grads = parameters.Select(p => p.Grad).OfType<Tensor>().ToList();
        double sumSquares = 0;
        foreach (var g in grads)
        {
            double n = Norm(g.Elements, 2);
            sumSquares += n * n;
        }
        float c = (float)clipValue;
        foreach (var g in grads)
        {
            TensorPrimitives.Min(g.Elements, c, g.Elements);
            TensorPrimitives.Max(g.Elements, -c, g.Elements);
        }
        return (float)Math.Sqrt(sumSquares);
    }

    /// <summary>‖x‖ₚ accumulated in double (max |x| for p = ∞).</summary>
    internal static double Norm(ReadOnlySpan<float> x, double p)
    {
        double acc = 0;
        if (double.IsPositiveInfinity(p))
        {
            foreach (float v in x) acc = Math.Max(acc, Math.Abs(v));
            return acc;
        }
        if (p == 2)
        {
            foreach (float v in x) acc += (double)v * v;
            return Math.Sqrt(acc);
        }
        foreach (float v in x) acc += Math.Pow(Math.Abs(v), p);
        return Math.Pow(acc, 1 / p);
    }
}
