using CnnLab.Tensors;

namespace CnnLab.Init;

public static partial class Initializers
{
    /// <summary>
    /// Fills a 3-, 4- or 5-D conv weight [out, in/groups, k...] with the Dirac delta: in each of the
    /// <paramref name="groups"/> groups, output channel d of the group gets a 1 at input channel d, at the
    /// kernel's center (index k/2 in each spatial dim), for d &lt; min(out/groups, in/groups); 0 elsewhere.
    /// A conv so initialized (with "same" padding) copies as many input channels as it can: an identity layer.
    /// </summary>
    /// <remarks>PyTorch: <c>torch.nn.init.dirac_(tensor, groups=1)</c>.</remarks>
    public static Tensor Dirac(Tensor tensor, int groups = 1)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Rank is < 3 or > 5)
            throw new ArgumentException($"Only tensors with 3, 4, or 5 dimensions are supported (got shape {Shape.Format(tensor.Shape)})");
        if (groups <= 0) throw new ArgumentOutOfRangeException(nameof(groups), groups, "groups must be positive");
        var shape = tensor.Shape;
        if (shape[0] % groups != 0)
            throw new ArgumentException($"dim 0 must be divisible by groups: shape {Shape.Format(shape)}, groups {groups}");
        int outPerGroup = shape[0] / groups;
        int minDim = Math.Min(outPerGroup, shape[1]);
        // offset of the kernel's center inside one [out, in] slice
        int kernelSize = 1, center = 0;
        for (int i = 2; i < shape.Length; i++)
        {
            center = center * shape[i] + shape[i] / 2;
            kernelSize *= shape[i];
        }
        using (Autograd.NoGrad())
        {
            var data = tensor.Elements;
            data.Clear();
            for (int g = 0; g < groups; g++)
                for (int d = 0; d < minDim; d++)
                    data[((g * outPerGroup + d) * shape[1] + d) * kernelSize + center] = 1f;
        }
        return Written(tensor);
    }
}
