using CnnLab.Tensors;

namespace CnnLab.Init;

/// <summary>
/// The parameter initializers. Each fills a tensor in place (under <see cref="Autograd.NoGrad"/>),
/// returns it, and draws from the <see cref="Generator"/> it is given (<see cref="Generator.Default"/>
/// when none is). Usage: <c>Initializers.KaimingNormal(linear.Weight, a: 0, FanMode.FanIn, Nonlinearity.Relu, gen)</c>.
/// One file per rule: Constant, Uniform, Normal, TruncNormal, Xavier, Kaiming, LeCun, Orthogonal,
/// Eye, Dirac, Gain. Scale rules take their fans from <see cref="Fan.Compute"/>, the one fan rule.
/// </summary>
/// <remarks>PyTorch: <c>torch.nn.init</c> (the static class is not called <c>Init</c> because that
/// is the namespace). Same names in C# casing, same defaults, same formulas; the random streams
/// differ (CnnLab's generator is not PyTorch's), the distributions are the same.</remarks>
public static partial class Initializers
{
    private static Generator Gen(Generator? generator) => generator ?? Generator.Default;

    // What an initializer wrote, seen by inference: the tensor gets a new write epoch (and a new freeze where it is frozen).
    private static Tensor Written(Tensor tensor)
    {
        tensor.NoteWrite();
        return tensor;
    }

    // PyTorch warns and returns on zero-element tensors ("Initializing zero-element tensors is a no-op").
    private static bool IsEmpty(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return tensor.Numel == 0;
    }

    private static void FillUniform(Tensor tensor, double low, double high, Generator generator)
    {
        var data = tensor.Elements;
        double width = high - low;
        for (int i = 0; i < data.Length; i++) data[i] = (float)(low + width * generator.NextDouble());
    }

    private static void FillNormal(Tensor tensor, double mean, double std, Generator generator)
    {
        var data = tensor.Elements;
        for (int i = 0; i < data.Length; i++) data[i] = (float)(mean + std * generator.NextGaussian());
    }
}
