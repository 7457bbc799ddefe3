namespace CnnLab.Init;

/// <summary>Which fan a Kaiming initializer normalizes by.</summary>
/// <remarks>PyTorch: the <c>mode</c> argument of <c>kaiming_uniform_</c>/<c>kaiming_normal_</c>
/// (<c>'fan_in'</c>, the default, or <c>'fan_out'</c>).</remarks>
public enum FanMode
{
    /// <summary>fan_in: preserves the variance of the activations in the forward pass (the default).</summary>
    FanIn,

    /// <summary>fan_out: preserves the variance of the gradients in the backward pass.</summary>
    FanOut,
}
