using CnnLab.Tensors;

namespace CnnLab.Nn;

/// <summary>
/// Flattens dims startDim..endDim into one (defaults keep the batch axis: [N, C, H, W] → [N, C·H·W]).
/// </summary>
/// <remarks>PyTorch: <c>torch.nn.Flatten(start_dim=1, end_dim=-1)</c>.</remarks>
public sealed class Flatten(int startDim = 1, int endDim = -1) : Module
{
    public int StartDim { get; } = startDim;

    public int EndDim { get; } = endDim;

    protected override Tensor ForwardCore(Tensor input) => input.Flatten(StartDim, EndDim);

    protected override string ExtraRepr() => $"start_dim={StartDim}, end_dim={EndDim}";
}
