
namespace CnnLab.Tensors;

public partial class Tensor
{
    private bool _requiresGrad;
    private List<Func<Tensor, Tensor?>>? _hooks;

    /// <summary>
    /// Whether gradients flow to this tensor. Settable on leaves only (tensors no op produced);
    /// a non-leaf requires grad exactly when one of its inputs does.
    /// </summary>
    public bool RequiresGrad
    {
        get => _requiresGrad;
        set
        {
            if (GradFn is not null && !value)
                throw new InvalidOperationException(
                    "RequiresGrad can only be turned off on a leaf tensor; use Detach() to cut a tensor from the graph");
            _requiresGrad = value;
        }
    }

    /// <summary>Sets <see cref="RequiresGrad"/> and returns this tensor (fluent, like <c>requires_grad_()</c>).</summary>
    public Tensor RequiresGrad_(bool value = true)
    {
        RequiresGrad = value;
        return this;
    }

    /// <summary>The accumulated gradient of the last <see cref="Backward"/> calls; null until one reaches it.</summary>
    public Tensor? Grad { get; set; }

    /// <summary>The op that produced this tensor; null for leaves.</summary>
    public GradNode? GradFn { get; private set; }

    /// <summary>True for tensors created by the user rather than produced by a recorded op.</summary>
    public bool IsLeaf => GradFn is null;

    /// <summary>When set on a non-leaf tensor, <see cref="Grad"/> is kept after backward (PyTorch: <c>retain_grad()</c>).</summary>
    public bool RetainsGrad { get; private set; }

    /// <summary>Keep the gradient of this non-leaf tensor after backward.</summary>
    public Tensor RetainGrad()
    {
        RetainsGrad = true;
        return this;
    }

    internal void SetGradFn(GradNode node)
    {
        GradFn = node;
        _requiresGrad = true;
    }

    /// <summary>
    /// Computes the gradient of this tensor with respect to every leaf that requires grad, adding it
    /// to their <see cref="Grad"/>. A scalar needs no <paramref name="gradient"/>; otherwise pass dThis.
    /// The graph is freed as it is walked (what its ops saved for the backward becomes garbage, and the
    /// <see cref="CachingAllocator"/> can reuse it even while you hold this tensor), unless
    /// <paramref name="retainGraph"/>: only then may Backward run through the same graph again.
    /// </summary>
    /// <remarks>PyTorch: <c>tensor.backward(gradient, retain_graph=False)</c>.</remarks>
    public void Backward(Tensor? gradient = null, bool retainGraph = false)
    {
        if (!RequiresGrad)
            throw new InvalidOperationException("Backward() on a tensor that does not require grad and has no grad_fn");
        if (gradient is null)
        {
            if (Numel != 1)
                throw new InvalidOperationException(
                    $"Backward() without a gradient needs a one-element tensor; this one has shape {Tensors.Shape.Format(Shape)}");
            gradient = Ones(Shape);
        }
        else if (!Tensors.Shape.Equal(gradient.Shape, Shape))
            throw new ArgumentException(
                $"gradient of shape {Tensors.Shape.Format(gradient.Shape)} for a tensor of shape {Tensors.Shape.Format(Shape)}");
        BackwardEngine.Run(this, gradient, retainGraph);
    }

    /// <summary>The same data, cut from the graph (shares storage).</summary>
    public Tensor Detach()
    {
        var detached = ViewAs(Shape);
        detached.Name = Name;
        return detached;
    }

    /// <summary>
    /// Registers a hook called with this tensor's gradient each time backward computes it. The hook
    /// may return a replacement gradient (or null to keep it). Returns a handle whose Dispose removes it.
    /// </summary>
    public IDisposable RegisterHook(Func<Tensor, Tensor?> hook)
    {
        if (!RequiresGrad) throw new InvalidOperationException("cannot register a hook on a tensor that does not require grad");
        (_hooks ??= []).Add(hook);
        return new HookHandle(() => _hooks.Remove(hook));
    }

    /// <summary>Registers an observing hook (cannot change the gradient).</summary>
    public IDisposable RegisterHook(Action<Tensor> hook) => RegisterHook(g => { hook(g); return null; });

    /// <summary>True when a gradient hook is registered on this tensor.</summary>
    public bool HasHooks => _hooks is { Count: > 0 };

    internal Tensor RunHooks(Tensor grad)
    {
        if (_hooks is null) return grad;
        foreach (var hook in _hooks.ToArray())
        {
            var replaced = hook(grad);
            if (replaced is not null)
            {
                if (!Tensors.Shape.Equal(replaced.Shape, Shape))
                    throw new InvalidOperationException($"a hook returned a gradient of shape {Tensors.Shape.Format(replaced.Shape)} "
                        + $"for a tensor of shape {Tensors.Shape.Format(Shape)}");
                grad = replaced;
            }
        }
        return grad;
    }

    internal void AccumulateGrad(Tensor grad)
    {
        if (Grad is null) Grad = grad.CloneRecycled();
        else TensorPrimitives.Add(Grad.Elements, grad.Elements, Grad.Elements);
        GC.KeepAlive(grad);
    }

    /// <summary>Clears <see cref="Grad"/>: to null (PyTorch 2's default, set_to_none) or to zeros.</summary>
    public void ZeroGrad(bool setToNone = true)
    {
        if (setToNone) Grad = null;
        else Grad?.Elements.Clear();
    }
}

/// <summary>Removes a registered hook when disposed.</summary>
public sealed class HookHandle(Action remove) : IDisposable
{
    private Action? _remove = remove;

    public void Dispose()
    {
        _remove?.Invoke();
        _remove = null;
    }
}
