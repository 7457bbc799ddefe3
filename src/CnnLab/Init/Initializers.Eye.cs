using CnnLab.Tensors;

namespace CnnLab.Init;

public static partial class Initializers
{
    /// <summary>
    /// Fills the 2-D <paramref name="tensor"/> with the identity: 1 where row = column, 0 elsewhere (non-square
    /// too). A Linear layer so initialized passes its input through (as many inputs as fit), which keeps a
    /// deep linear stack's signal exactly.
    /// </summary>
    /// <remarks>PyTorch: <c>torch.nn.init.eye_(tensor)</c>.</remarks>
    public static Tensor Eye(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Rank != 2)
            throw new ArgumentException($"Only tensors with 2 dimensions are supported (got shape {Shape.Format(tensor.Shape)})");
        using (Autograd.NoGrad())
        {
            var data = tensor.Elements;
            data.Clear();
            int rows = tensor.Shape[0], cols = tensor.Shape[1];
            for (int i = 0; i < Math.Min(rows, cols); i++) data[i * cols + i] = 1f;
        }
        return Written(tensor);
    }
}
