using CnnLab.Tensors;

namespace CnnLab.Nn;

/// <summary>A tensor that is a learnable parameter of a module: it requires grad and is returned by <see cref="Module.Parameters"/>.</summary>
/// <remarks>PyTorch: <c>torch.nn.Parameter</c>.</remarks>
public sealed class Parameter : Tensor
{
    /// <summary>Wraps <paramref name="data"/>'s storage (not copied) as a parameter; writes through either are seen by both.</summary>
    public Parameter(Tensor data, bool requiresGrad = true) : base(data)
    {
        RequiresGrad = requiresGrad;
        Name = data.Name;
    }

    /// <summary>A zero-filled parameter of <paramref name="shape"/>.</summary>
    public Parameter(params int[] shape) : this(new Tensor(shape)) { }
}
