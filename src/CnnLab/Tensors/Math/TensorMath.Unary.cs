
namespace CnnLab.Tensors;

public static partial class TensorMath
{
    /// <summary>xᵖ elementwise.</summary>
    public static Tensor Pow(Tensor x, float p)
    {
        var y = Tensor.ForOp(x.Shape);
        var xs = x.Elements;
        var ys = y.Elements;
        for (int i = 0; i < xs.Length; i++) ys[i] = MathF.Pow(xs[i], p);
        // y = xᵖ  →  dx = dy · p · xᵖ⁻¹
        return Autograd.Record(y, "PowBackward", [x], dy =>
        {
            var dx = Tensor.ForOp(x.Shape);
            var xd = x.Elements;
            for (int i = 0; i < xd.Length; i++) dx.Buffer[i] = dy.Buffer[i] * p * MathF.Pow(xd[i], p - 1);
            return [dx];
        });
    }

    /// <summary>eˣ elementwise.</summary>
    public static Tensor Exp(Tensor x)
    {
        var y = Tensor.ForOp(x.Shape);
        TensorPrimitives.Exp(x.Elements, y.Elements);
        // y = eˣ  →  dx = dy · y
        return Autograd.Record(y, "ExpBackward", [x], dy =>
        {
            var dx = Tensor.ForOp(x.Shape);
            TensorPrimitives.Multiply(dy.Elements, y.Elements, dx.Elements);
            return [dx];
        });
    }

    /// <summary>ln x elementwise.</summary>
    public static Tensor Log(Tensor x)
    {
        var y = Tensor.ForOp(x.Shape);
        TensorPrimitives.Log(x.Elements, y.Elements);
        // y = ln x  →  dx = dy / x
        return Autograd.Record(y, "LogBackward", [x], dy =>
        {
            var dx = Tensor.ForOp(x.Shape);
            TensorPrimitives.Divide(dy.Elements, x.Elements, dx.Elements);
            return [dx];
        });
    }
}
