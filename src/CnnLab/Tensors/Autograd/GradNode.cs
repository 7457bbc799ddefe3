using CnnLab.Tensors;

namespace CnnLab.Tensors;

/// <summary>
/// One entry of the tape: the operation that produced a tensor, its inputs, and the function that
/// maps the gradient of the output to the gradients of the inputs (chain rule, one step).
/// </summary>
/// <remarks>PyTorch: the <c>grad_fn</c> of a tensor (e.g. <c>ConvolutionBackward0</c>).</remarks>
public sealed class GradNode
{
    internal GradNode(string name, Tensor[] inputs, Func<Tensor, InputGradientAddends, Tensor?[]> backward)
    {
        Name = name;
        Inputs = inputs;
        BackwardFunction = backward;
    }

    /// <summary>The op's name, e.g. "Conv2dBackward".</summary>
    public string Name { get; }

    /// <summary>The tensors the op read (empty once a backward has freed the node).</summary>
    public IReadOnlyList<Tensor> Inputs { get; private set; }

    /// <summary>
    /// dOutput (and the gradients already pending for the inputs, which the op may add in) → one gradient per input (null
    /// where an input needs none); null once freed.
    /// </summary>
    internal Func<Tensor, InputGradientAddends, Tensor?[]>? BackwardFunction { get; private set; }

    /// <summary>True once a backward without retainGraph has run through this node.</summary>
    public bool IsFreed => BackwardFunction is null;

    // Drops the inputs and the closure (and with it everything the op saved for its backward).
    internal void Release()
    {
        Inputs = [];
        BackwardFunction = null;
    }
}
