using CnnLab.Kernels;
using CnnLab.Nn;
using CnnLab.Nn.Models;
using CnnLab.Tensors;

namespace CnnLab.Tests;

/// <summary>One training step of a zoo model with fusion (<see cref="Sequential.SetFusion"/>) on or off, to check fusion changes nothing.</summary>
internal static class FusionStep
{
    /// <summary>The parameters' gradients and the buffers after one forward and backward of 8 fixed images.</summary>
    public static (float[] Grads, float[] Buffers) Run(string model, bool fuse, ConvAlgorithm firstConv = ConvAlgorithm.Auto)
    {
        var net = ModelZoo.Create(model, new Generator(5));
        Sequential.SetFusion(net, fuse);
        net.NamedModules().Select(m => m.Module).OfType<Conv2d>().First().Algorithm = firstConv;
        var x = Tensor.Randn(new Generator(6), 8, 1, 28, 28);
        var loss = Functional.CrossEntropy(net.Forward(x), [0, 1, 2, 3, 4, 5, 6, 7]);
        loss.Backward();
        return (net.Parameters().SelectMany(p => p.Grad!.Data.ToArray()).ToArray(),
                net.NamedBuffers().SelectMany(b => b.Buffer.Data.ToArray()).ToArray());
    }
}
