using CnnLab.Tensors;

namespace CnnLab.Init;

public static partial class Initializers
{
    /// <summary>
    /// Glorot's std: gain·√(2/(fan_in + fan_out)). Glorot &amp; Bengio (2010), "Understanding the difficulty of
    /// training deep feedforward neural networks", AISTATS: keeping the forward variance needs Var(W) = 1/fan_in,
    /// the backward one 1/fan_out; their compromise is Var(W) = 2/(fan_in + fan_out). (The course notes write
    /// Xavier as Var(W) = 1/N_in, which is LeCun's rule, <see cref="LeCunNormal"/>; CnnLab follows the paper.
    /// The two agree on square layers.)
    /// </summary>
    public static double XavierStd(ReadOnlySpan<int> shape, double gain = 1.0)
    {
        var (fanIn, fanOut) = Fan.Compute(shape);
        return gain * Math.Sqrt(2.0 / (fanIn + fanOut));
    }

    /// <summary>
    /// Xavier/Glorot uniform: W ~ U(−bound, bound), bound = gain·√(6/(fan_in + fan_out)) = √3·<see cref="XavierStd"/>,
    /// so Var(W) = gain²·2/(fan_in + fan_out). Glorot &amp; Bengio 2010 (AISTATS), eq. 16. Suits tanh/sigmoid
    /// (gain from <see cref="CalculateGain"/>); with ReLU the variance halves at every layer.
    /// </summary>
    /// <remarks>PyTorch: <c>torch.nn.init.xavier_uniform_(tensor, gain=1.0)</c>; also known as Glorot initialization.</remarks>
    public static Tensor XavierUniform(Tensor tensor, double gain = 1.0, Generator? generator = null)
    {
        if (IsEmpty(tensor)) return tensor;
        double bound = Math.Sqrt(3.0) * XavierStd(tensor.Shape, gain);
        using (Autograd.NoGrad()) FillUniform(tensor, -bound, bound, Gen(generator));
        return Written(tensor);
    }

    /// <summary>
    /// Xavier/Glorot normal: W ~ N(0, std²), std = gain·√(2/(fan_in + fan_out)). Glorot &amp; Bengio 2010 (AISTATS).
    /// </summary>
    /// <remarks>PyTorch: <c>torch.nn.init.xavier_normal_(tensor, gain=1.0)</c>.</remarks>
    public static Tensor XavierNormal(Tensor tensor, double gain = 1.0, Generator? generator = null)
    {
        if (IsEmpty(tensor)) return tensor;
        double std = XavierStd(tensor.Shape, gain);
        using (Autograd.NoGrad()) FillNormal(tensor, 0.0, std, Gen(generator));
        return Written(tensor);
    }
}
