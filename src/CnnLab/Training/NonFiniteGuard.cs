using CnnLab.Nn;
using CnnLab.Tensors;

namespace CnnLab.Training;

/// <summary>The first non-finite (NaN or ±Inf) value seen in a training step.</summary>
/// <param name="Step">The optimizer step (1-based) in which it appeared.</param>
/// <param name="Where">"loss", "forward" (a layer's output) or "backward" (a parameter's gradient).</param>
/// <param name="Layer">The layer (dotted module name) or parameter where it first appeared.</param>
public sealed record NonFiniteReport(long Step, string Where, string Layer)
{
    public string Message => Where switch
    {
        "forward" => $"non-finite value (NaN or Inf) at step {Step}: first appeared in the output of layer '{Layer}' in the forward pass",
        "backward" => $"non-finite gradient (NaN or Inf) at step {Step}: first appeared in the gradient of '{Layer}'",
        _ => $"non-finite loss (NaN or Inf) at step {Step}",
    };
}

/// <summary>
/// Watches a model for NaN/Inf: forward hooks on every leaf layer record the first layer whose output
/// is not finite; after backward, <see cref="CheckGradients"/> finds the first parameter (in backward
/// order: last layer first) whose gradient is not finite. Training stops at the first report.
/// </summary>
public sealed class NonFiniteGuard : IDisposable
{
    private readonly List<IDisposable> _hooks = [];
    private readonly List<(string Name, Parameter Parameter)> _parameters;
    private string? _firstForward;

    public NonFiniteGuard(Module model)
    {
        foreach (var (name, module) in model.NamedModules())
        {
            if (module.Children().Any()) continue;
            string layer = name.Length == 0 ? module.GetType().Name : name;
            _hooks.Add(module.RegisterForwardHook((m, _, output) =>
            {
                if (_firstForward is null && !IsFinite(output.Data)) _firstForward = layer;
            }));
        }
        _parameters = model.NamedParameters().ToList();
    }

    /// <summary>Forgets what the previous step saw.</summary>
    public void Reset() => _firstForward = null;

    /// <summary>The report for a non-finite loss (naming the first layer whose output was already non-finite), or null.</summary>
    public NonFiniteReport? CheckLoss(float loss, long step)
    {
        if (_firstForward is not null) return new NonFiniteReport(step, "forward", _firstForward);
        return float.IsFinite(loss) ? null : new NonFiniteReport(step, "loss", "loss");
    }

    /// <summary>The first parameter, from the output layer backwards, whose gradient holds NaN or Inf; or null.</summary>
    public NonFiniteReport? CheckGradients(long step)
    {
        for (int i = _parameters.Count - 1; i >= 0; i--)
        {
            var (name, p) = _parameters[i];
            if (p.Grad is not null && !IsFinite(p.Grad.Data)) return new NonFiniteReport(step, "backward", name);
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

    public void Dispose()
    {
        foreach (var h in _hooks) h.Dispose();
        _hooks.Clear();
    }
}
