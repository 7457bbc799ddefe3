namespace CnnLab.Init;

/// <summary>
/// Fan-in and fan-out of a weight tensor, the one place this rule lives:
/// fan_in = shape[1]·receptive field, fan_out = shape[0]·receptive field, where the receptive field
/// is the product of the dims after the first two (1 for Linear's [out, in]; kh·kw for Conv2d's
/// [out, in/groups, kh, kw], so grouped convs count in/groups inputs per output, as PyTorch does).
/// </summary>
/// <remarks>PyTorch: <c>torch.nn.init._calculate_fan_in_and_fan_out</c>.</remarks>
public static class Fan
{
    /// <summary>(fan_in, fan_out) of a tensor with <paramref name="shape"/>; needs at least 2 dims.</summary>
    public static (int FanIn, int FanOut) Compute(ReadOnlySpan<int> shape)
    {
        if (shape.Length < 2)
            throw new ArgumentException(
                $"fan in and fan out cannot be computed for a tensor with fewer than 2 dimensions (shape {Tensors.Shape.Format(shape)})");
        int receptive = 1;
        for (int i = 2; i < shape.Length; i++) receptive *= shape[i];
        return (shape[1] * receptive, shape[0] * receptive);
    }
}
