using CnnLab.Nn;
using CnnLab.Tensors;

namespace CnnLab.Training;

/// <summary>The first non-finite (NaN or ±Inf) value seen in a training step.</summary>
/// <param name="Step">The optimizer step (1-based) in which it appeared.</param>
/// <param name="Where">"loss", "forward" (a layer's output), "backward" (a parameter's gradient) or "update" (a parameter the
/// optimizer's step made non-finite).</param>
/// <param name="Layer">The layer (dotted module name) or parameter where it first appeared.</param>
public sealed record NonFiniteReport(long Step, string Where, string Layer)
{
    public string Message => Where switch
    {
        "forward" => $"non-finite value (NaN or Inf) at step {Step}: first appeared in the output of layer '{Layer}' in the forward pass",
        "backward" => $"non-finite gradient (NaN or Inf) at step {Step}: first appeared in the gradient of '{Layer}'",
        "update" => $"non-finite weight (NaN or Inf) after the update of step {Step}: first in '{Layer}' (the step was too large: " +
            "lower --lr or --weight-decay)",
        _ => $"non-finite loss (NaN or Inf) at step {Step}",
    };
}

/// <summary>
/// Watches a training step for NaN/Inf. The hot path checks only the loss and, after backward, the
/// parameters' gradients (<see cref="CheckGradients"/>: the first one in backward order, last layer
/// first). Only when the loss is not finite does <see cref="CheckLoss"/> run the batch through the model
/// once more with temporary forward hooks on every leaf layer, to name the first layer whose output is
/// not finite: scanning every layer's output on every step would cost one extra pass over all
/// activations per step, and forward hooks would keep the layers from running fused.
/// </summary>
public sealed class NonFiniteGuard
{
    private readonly Module _model;
    private readonly List<(string Name, Parameter Parameter)> _parameters;

    public NonFiniteGuard(Module model)
    {
        _model = model;
        _parameters = model.NamedParameters().ToList();
    }

    /// <summary>
    /// Null when <paramref name="loss"/> is finite. Otherwise the report, naming the first layer whose
    /// output is not finite when <paramref name="input"/> is run through the model again (a diverged
    /// run stops here, so the extra forward pass costs nothing in a healthy one).
    /// </summary>
    public NonFiniteReport? CheckLoss(float loss, long step, Tensor input)
    {
        if (float.IsFinite(loss)) return null;
        string? first = null;
        var hooks = new List<IDisposable>();
        try
        {
            foreach (var (name, module) in _model.NamedModules())
            {
                if (module.Children().Any()) continue;
                string layer = name.Length == 0 ? module.GetType().Name : name;
                hooks.Add(module.RegisterForwardHook((m, _, output) =>
                {
                    if (first is null && !IsFinite(output.Elements)) first = layer;
                }));
            }
            using (Autograd.NoGrad()) _model.Forward(input);
        }
        finally
        {
            foreach (var h in hooks) h.Dispose();
        }
        return first is null ? new NonFiniteReport(step, "loss", "loss") : new NonFiniteReport(step, "forward", first);
    }

    /// <summary>The first parameter, from the output layer backwards, whose gradient holds NaN or Inf; or null.</summary>
    public NonFiniteReport? CheckGradients(long step)
    {
        for (int i = _parameters.Count - 1; i >= 0; i--)
        {
            var (name, p) = _parameters[i];
            if (p.Grad is not null && !IsFinite(p.Grad.Elements)) return new NonFiniteReport(step, "backward", name);
        }
        return null;
    }

    /// <summary>The first parameter, from the output layer backwards, whose value holds NaN or Inf after an update; or null.</summary>
    public NonFiniteReport? CheckWeights(long step)
    {
        for (int i = _parameters.Count - 1; i >= 0; i--)
        {
            var (name, p) = _parameters[i];
            if (!IsFinite(p.Elements)) return new NonFiniteReport(step, "update", name);
        }
        return null;
    }

    /// <summary>True when every value is finite (vectorized: x·0 is 0 for finite x and NaN otherwise).</summary>
    public static bool IsFinite(ReadOnlySpan<float> values)
    {
        const int chunk = 4096;
        Span<float> scratch = stackalloc float[chunk];
        for (int off = 0; off < values.Length; off += chunk)
        {
            var part = values.Slice(off, Math.Min(chunk, values.Length - off));
            var s = scratch[..part.Length];
            TensorPrimitives.Multiply(part, 0f, s);
            if (float.IsNaN(TensorPrimitives.Sum(s))) return false;
        }
        return true;
    }
}
