namespace CnnLab.Tensors;

/// <summary>
/// The gradients already summed for a node's inputs when its backward runs (other ops that read the same tensor ran their
/// backward first). An op may add one into the gradient it returns for that input while it writes that gradient, and say so
/// with <see cref="Take"/>: the engine then keeps the op's gradient as the sum instead of adding the two in a pass of its own
/// over memory (a residual block's input: its first convolution's dx and the shortcut's gradient). The op must compute
/// addend + own, element by element, as the engine's sum does (the same bits, NaN payloads included), and must not write to
/// the addend.
/// </summary>
internal sealed class InputGradientAddends
{
    /// <summary>No addends (a backward run outside the engine).</summary>
    public static readonly InputGradientAddends None = new([]);

    private readonly Tensor?[] _pending;
    private readonly bool[] _taken;

    internal InputGradientAddends(Tensor?[] pending)
    {
        _pending = pending;
        _taken = new bool[pending.Length];
    }

    /// <summary>The gradient pending for input <paramref name="input"/>, or null.</summary>
    public Tensor? For(int input) => input < _pending.Length ? _pending[input] : null;

    /// <summary>Says that the gradient returned for <paramref name="input"/> includes <see cref="For"/>(input).</summary>
    public void Take(int input)
    {
        if (For(input) is null) throw new InvalidOperationException($"input {input} has no pending gradient to take");
        _taken[input] = true;
    }

    internal bool Taken(int input) => input < _taken.Length && _taken[input];
}
