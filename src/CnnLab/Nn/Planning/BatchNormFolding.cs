using System.Runtime.InteropServices;
using CnnLab.Tensors;

namespace CnnLab.Nn;

/// <summary>
/// A convolution followed by a batch norm on running statistics, as one convolution (Ioffe &amp; Szegedy 2015,
/// arXiv:1502.03167, eval mode): with s_o = γ_o / √(σ²_o + ε), W'[o] = s_o·W[o] and b'_o = s_o·(b_o − μ_o) + β_o, so
/// W' ⋆ x + b' = γ·(W ⋆ x + b − μ)/√(σ² + ε) + β. Computed in double and rounded once. The folded tensors are kept
/// while every source value is what it was (a bitwise snapshot: an optimizer step, a loaded checkpoint or a write in
/// place refolds; they are compared once after each write the library makes or sees, or once per freeze,
/// <see cref="Module.Freeze"/>, and on every call only where a source was handed out, <see cref="Tensor.Data"/>), so the
/// convolution's prepared weights (<see cref="Kernels.ConvPlanCache"/>) are kept too.
/// </summary>
/// <remarks>PyTorch: <c>torch.nn.utils.fusion.fuse_conv_bn_eval</c>, which <c>torch.jit.freeze</c> and
/// <c>torch.ao.quantization.fuse_modules</c> apply.</remarks>
internal sealed class BatchNormFolding(Conv2d conv, BatchNorm2d norm)
{
    // Epochs: each source's epoch (Tensor.TrustedEpoch) in which Sources was last found equal to it; null: not all trusted.
    private sealed record Folded(float[] Sources, Tensor Weight, Tensor Bias)
    {
        public volatile long[]? Epochs;
    }

    private readonly Tensor[] _parameters = new Tensor?[] { conv.Weight, conv.Bias, norm.Weight, norm.Bias }.OfType<Tensor>().ToArray();
    private readonly object _gate = new();
    private volatile Folded? _folded;

    /// <summary>Whether folding gives what the two layers give: running statistics in use, and no parameter to differentiate.</summary>
    public bool Applies => !norm.Training && norm.RunningMean is not null && norm.RunningVar is not null && !Autograd.NeedsGrad(_parameters);

    /// <summary>The folded weight [OC, C/G, KH, KW] and bias [OC] (never written: new tensors when the sources change).</summary>
    public (Tensor Weight, Tensor Bias) Get()
    {
        var folded = _folded;
        if (folded is null || !(CheckedInThisEpoch(folded) || Unchanged(folded)))
            lock (_gate)
            {
                folded = _folded;
                if (folded is null || !Unchanged(folded)) _folded = folded = Fold();
            }
        return (folded.Weight, folded.Bias);
    }

    // Every source unwritten (or frozen, Module.Freeze) since it was found unchanged: no compare.
    private bool CheckedInThisEpoch(Folded folded)
    {
        var epochs = folded.Epochs;
        if (epochs is null) return false;
        int i = 0;
        foreach (var t in Sources())
            if (i >= epochs.Length || t.TrustedEpoch != epochs[i++]) return false;
        return i == epochs.Length;
    }

    // The sources in one array: W, then b, γ, β, μ, σ² (b, γ, β only where the layers have them).
    private IEnumerable<Tensor> Sources() =>
        new Tensor?[] { conv.Weight, conv.Bias, norm.Weight, norm.Bias, norm.RunningMean, norm.RunningVar }.OfType<Tensor>();

    // Every source's bits equal to the snapshot; if so, and every source is trusted, the epochs they were found equal in (read
    // before the compare: a write during it gives its tensor a newer epoch, so the next call compares again).
    private bool Unchanged(Folded folded)
    {
        var snapshot = folded.Sources;
        var epochs = TrustedEpochs();
        int at = 0;
        foreach (var t in Sources())
        {
            var now = t.Elements;
            if (at + now.Length > snapshot.Length) return false;
            if (!MemoryMarshal.Cast<float, int>(now).SequenceEqual(MemoryMarshal.Cast<float, int>(snapshot.AsSpan(at, now.Length)))) return false;
            at += now.Length;
        }
        if (at != snapshot.Length) return false;
        folded.Epochs = epochs;
        return true;
    }

    // Each source's epoch (Tensor.TrustedEpoch), in Sources' order; null where any has none (compared on every call).
    private long[]? TrustedEpochs()
    {
        // Each read once: a source handed out between two reads would otherwise be recorded as 0 and matched as trusted.
        var epochs = Sources().Select(t => t.TrustedEpoch).ToArray();
        return epochs.Contains(0) ? null : epochs;
    }

    // From the snapshot, not the live values: a write between the two could otherwise fold values the snapshot does not hold.
    private Folded Fold()
    {
        var epochs = TrustedEpochs();
        var snapshot = Sources().SelectMany(t => t.Elements.ToArray()).ToArray();
        int oc = conv.OutChannels, perChannel = conv.Weight.Numel / oc, at = conv.Weight.Numel;
        ReadOnlySpan<float> weight = snapshot.AsSpan(0, at), bias = Next(conv.Bias), gamma = Next(norm.Weight), beta = Next(norm.Bias);
        ReadOnlySpan<float> mean = Next(norm.RunningMean), variance = Next(norm.RunningVar);
        var w = new float[conv.Weight.Numel];
        var b = new float[oc];
        for (int o = 0; o < oc; o++)
        {
            double g = gamma.IsEmpty ? 1.0 : gamma[o], shift = beta.IsEmpty ? 0.0 : beta[o], b0 = bias.IsEmpty ? 0.0 : bias[o];
            double s = g / Math.Sqrt(variance[o] + (double)norm.Eps);
            for (int k = 0; k < perChannel; k++) w[o * perChannel + k] = (float)(s * weight[o * perChannel + k]);
            b[o] = (float)(s * (b0 - mean[o]) + shift);
        }
        // Never written after this, and the sources are compared here: the convolution's plan cache need not compare w too.
        Kernels.ConvPlanCache.Freeze(w);
        return new Folded(snapshot, new Tensor(w, conv.Weight.Shape.ToArray()), new Tensor(b, oc)) { Epochs = epochs };

        // The next source's values in the snapshot (in Sources' order), empty where the layers have no such tensor.
        ReadOnlySpan<float> Next(Tensor? source)
        {
            if (source is null) return default;
            var values = snapshot.AsSpan(at, source.Numel);
            at += source.Numel;
            return values;
        }
    }
}
