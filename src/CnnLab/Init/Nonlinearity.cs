namespace CnnLab.Init;

/// <summary>The nonlinearities <see cref="Initializers.CalculateGain"/> knows, as in PyTorch's table.</summary>
/// <remarks>PyTorch: the <c>nonlinearity</c> strings of <c>torch.nn.init.calculate_gain</c>
/// ('linear', 'conv1d', ..., 'sigmoid', 'tanh', 'relu', 'leaky_relu', 'selu').</remarks>
public enum Nonlinearity
{
    Linear,
    Conv1d,
    Conv2d,
    Conv3d,
    ConvTranspose1d,
    ConvTranspose2d,
    ConvTranspose3d,
    Sigmoid,
    Tanh,
    Relu,
    LeakyRelu,
    Selu,
}
