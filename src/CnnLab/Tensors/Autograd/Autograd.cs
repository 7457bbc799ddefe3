using CnnLab.Tensors;

namespace CnnLab.Tensors;

/// <summary>Grad mode and the recording of ops onto the tape.</summary>
/// <remarks>PyTorch: <c>torch.no_grad()</c>, <c>torch.is_grad_enabled()</c>.</remarks>
public static class Autograd
{
    [ThreadStatic] private static int t_noGradDepth;

    /// <summary>False inside a <see cref="NoGrad"/> scope: ops then record nothing.</summary>
    public static bool IsGradEnabled => t_noGradDepth == 0;

    /// <summary>
    /// <c>using (Autograd.NoGrad()) { ... }</c>: ops inside record no graph (inference, initializers,
    /// optimizer updates). Scopes nest; the setting is per thread, as in PyTorch.
    /// </summary>
    public static IDisposable NoGrad()
    {
        t_noGradDepth++;
        return new NoGradScope();
    }

    private sealed class NoGradScope : IDisposable
    {
        private bool _disposed;

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            t_noGradDepth--;
        }
    }

    /// <summary>True when an op on <paramref name="inputs"/> must be recorded.</summary>
    public static bool NeedsGrad(params Tensor[] inputs)
    {
        if (!IsGradEnabled) return false;
        foreach (var t in inputs) if (t.RequiresGrad) return true;
        return false;
    }

    /// <summary>
    /// Attaches a node to <paramref name="output"/> if grad mode is on and any input requires grad.
    /// <paramref name="backward"/> gets dOutput and returns one gradient per input, shaped like that
    /// input (null where the input does not require grad). Returns <paramref name="output"/>.
    /// </summary>
    public static Tensor Record(Tensor output, string name, Tensor[] inputs, Func<Tensor, Tensor?[]> backward) =>
        RecordWithAddends(output, name, inputs, (dy, _) => backward(dy));

    /// <summary>
    /// <see cref="Record"/> for an op whose backward may add the gradients already pending for its inputs into the ones it
    /// returns (<see cref="InputGradientAddends"/>).
    /// </summary>
    internal static Tensor RecordWithAddends(Tensor output, string name, Tensor[] inputs, Func<Tensor, InputGradientAddends, Tensor?[]> backward)
    {
        if (NeedsGrad(inputs)) output.SetGradFn(new GradNode(name, inputs, backward));
        return output;
    }
}
