using CnnLab.Tensors;

namespace CnnLab.Nn;

public static partial class Functional
{
    /// <summary>
    /// Cross-entropy of logits [N, C] against class indices, fused log-softmax + negative log-likelihood,
    /// mean over the batch: ℓᵢ = −Σ_c qᵢ,c · log softmax(zᵢ)_c with q = (1 − ε)·onehot(yᵢ) + ε/C
    /// (label smoothing ε, Szegedy et al. 2016, arXiv:1512.00567). Gradient: (softmax(z) − q)/N.
    /// </summary>
    /// <remarks>PyTorch: <c>torch.nn.functional.cross_entropy(input, target, label_smoothing=0.0)</c>, reduction 'mean'.</remarks>
    public static Tensor CrossEntropy(Tensor logits, ReadOnlySpan<int> targets, float labelSmoothing = 0f)
    {
        if (logits.Rank != 2) throw new ArgumentException($"CrossEntropy expects logits [N, C], got {Shape.Format(logits.Shape)}");
        int n = logits.Shape[0], c = logits.Shape[1];
        if (targets.Length != n)
            throw new ArgumentException($"CrossEntropy got {targets.Length} targets for a batch of {n} (logits {Shape.Format(logits.Shape)})");
        if (n == 0) throw new ArgumentException("CrossEntropy of an empty batch");
        if (labelSmoothing < 0f || labelSmoothing > 1f)
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing, "label_smoothing must be between 0.0 and 1.0");
        var target = targets.ToArray();
        foreach (int t in target)
            if (t < 0 || t >= c) throw new ArgumentException($"Target {t} is out of bounds (classes 0..{c - 1})");
        var probs = new float[n * c];
        double total = 0;
        var z = logits.Elements;
        for (int i = 0; i < n; i++)
        {
            var row = z.Slice(i * c, c);
            float max = TensorPrimitives.Max(row);
            double sum = 0;
            for (int k = 0; k < c; k++) sum += Math.Exp(row[k] - max);
            double lse = max + Math.Log(sum);
            double nll = lse - row[target[i]];
            double smooth = 0;
            if (labelSmoothing > 0f)
            {
                for (int k = 0; k < c; k++) smooth += lse - row[k];
                smooth /= c;
            }
            total += (1 - labelSmoothing) * nll + labelSmoothing * smooth;
            for (int k = 0; k < c; k++) probs[i * c + k] = (float)Math.Exp(row[k] - lse);
        }
        var loss = Tensor.Scalar((float)(total / n));
        // L = (1/N) Σᵢ −Σ_c q log softmax(z)  →  dz = dL · (softmax(z) − q) / N
        return Autograd.Record(loss, "CrossEntropyBackward", [logits], dLoss =>
        {
            float scale = dLoss.Buffer[0] / n;
            var dz = new Tensor(logits.Shape);
            var d = dz.Elements;
            float off = labelSmoothing / c;
            for (int i = 0; i < n; i++)
                for (int k = 0; k < c; k++)
                {
                    float q = off + (k == target[i] ? 1f - labelSmoothing : 0f);
                    d[i * c + k] = (probs[i * c + k] - q) * scale;
                }
            return [dz];
        });
    }

    /// <summary>Negative log-likelihood of log-probabilities [N, C]: mean of −logp[i, yᵢ].</summary>
    /// <remarks>PyTorch: <c>torch.nn.functional.nll_loss</c>, reduction 'mean'.</remarks>
    public static Tensor NllLoss(Tensor logProbs, ReadOnlySpan<int> targets)
    {
        if (logProbs.Rank != 2) throw new ArgumentException($"NllLoss expects [N, C], got {Shape.Format(logProbs.Shape)}");
        int n = logProbs.Shape[0], c = logProbs.Shape[1];
        if (targets.Length != n) throw new ArgumentException($"NllLoss got {targets.Length} targets for a batch of {n}");
        var target = targets.ToArray();
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            if (target[i] < 0 || target[i] >= c) throw new ArgumentException($"Target {target[i]} is out of bounds (classes 0..{c - 1})");
            total -= logProbs.Elements[i * c + target[i]];
        }
        var loss = Tensor.Scalar((float)(total / n));
        // L = −(1/N) Σ logp[i, yᵢ]  →  dlogp[i, yᵢ] = −dL/N
        return Autograd.Record(loss, "NllLossBackward", [logProbs], dLoss =>
        {
            var d = new Tensor(logProbs.Shape);
            for (int i = 0; i < n; i++) d.Elements[i * c + target[i]] = -dLoss.Buffer[0] / n;
            return [d];
        });
    }

    /// <summary>Mean squared error: mean((x − target)²).</summary>
    /// <remarks>PyTorch: <c>torch.nn.functional.mse_loss</c>, reduction 'mean'.</remarks>
    public static Tensor MseLoss(Tensor input, Tensor target)
    {
        if (!Shape.Equal(input.Shape, target.Shape))
            throw new ArgumentException($"MseLoss: input {Shape.Format(input.Shape)} and target {Shape.Format(target.Shape)} differ");
        double total = 0;
        var a = input.Elements; var b = target.Elements;
        for (int i = 0; i < a.Length; i++)
        {
            double d = a[i] - b[i];
            total += d * d;
        }
        int n = Math.Max(1, input.Numel);
        var loss = Tensor.Scalar((float)(total / n));
        // L = (1/n) Σ (x − t)²  →  dx = 2(x − t)·dL/n,  dt = −dx
        return Autograd.Record(loss, "MseLossBackward", [input, target], dLoss =>
        {
            float k = 2f * dLoss.Buffer[0] / n;
            Tensor? dx = null, dt = null;
            var diff = new float[input.Numel];
            TensorPrimitives.Subtract(input.Elements, target.Elements, diff);
            if (input.RequiresGrad) { dx = new Tensor(input.Shape); TensorPrimitives.Multiply(diff, k, dx.Elements); }
            if (target.RequiresGrad) { dt = new Tensor(target.Shape); TensorPrimitives.Multiply(diff, -k, dt.Elements); }
            return [dx, dt];
        });
    }
}
