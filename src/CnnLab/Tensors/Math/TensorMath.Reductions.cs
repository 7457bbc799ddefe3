
namespace CnnLab.Tensors;

public static partial class TensorMath
{
    /// <summary>Sum of all elements (a scalar), accumulated in double for accuracy.</summary>
    public static Tensor Sum(Tensor x)
    {
        double s = 0;
        foreach (float v in x.Elements) s += v;
        var y = Tensor.Scalar((float)s);
        // y = Σ x  →  dx = dy (broadcast)
        return Autograd.Record(y, "SumBackward", [x], dy => [Tensor.Full(dy.Buffer[0], x.Shape)]);
    }

    /// <summary>Mean of all elements (a scalar).</summary>
    public static Tensor Mean(Tensor x)
    {
        if (x.Numel == 0) throw new ArgumentException("mean of an empty tensor");
        double s = 0;
        foreach (float v in x.Elements) s += v;
        var y = Tensor.Scalar((float)(s / x.Numel));
        // y = Σ x / n  →  dx = dy / n
        return Autograd.Record(y, "MeanBackward", [x], dy => [Tensor.Full(dy.Buffer[0] / x.Numel, x.Shape)]);
    }

    /// <summary>Sum over <paramref name="axis"/>; the axis is kept with size 1 when <paramref name="keepDim"/>.</summary>
    public static Tensor Sum(Tensor x, int axis, bool keepDim = false) => ReduceAxis(x, axis, keepDim, mean: false);

    /// <summary>Mean over <paramref name="axis"/>.</summary>
    public static Tensor Mean(Tensor x, int axis, bool keepDim = false) => ReduceAxis(x, axis, keepDim, mean: true);

    private static Tensor ReduceAxis(Tensor x, int axis, bool keepDim, bool mean)
    {
        int ax = Shape.NormalizeAxis(axis, x.Rank);
        int outer = 1, inner = 1, n = x.Shape[ax];
        for (int i = 0; i < ax; i++) outer *= x.Shape[i];
        for (int i = ax + 1; i < x.Rank; i++) inner *= x.Shape[i];
        var outShape = keepDim
            ? x.Shape.Select((d, i) => i == ax ? 1 : d).ToArray()
            : x.Shape.Where((_, i) => i != ax).ToArray();
        var y = new Tensor(outShape);
        float scale = mean ? 1f / n : 1f;
        var xs = x.Elements;
        for (int o = 0; o < outer; o++)
        {
            var dst = y.Elements.Slice(o * inner, inner);
            for (int k = 0; k < n; k++) TensorPrimitives.Add(dst, xs.Slice((o * n + k) * inner, inner), dst);
            if (mean) TensorPrimitives.Multiply(dst, scale, dst);
        }
        // y[o, i] = scale · Σ_k x[o, k, i]  →  dx[o, k, i] = scale · dy[o, i]
        return Autograd.Record(y, mean ? "MeanBackward" : "SumBackward", [x], dy =>
        {
            var dx = new Tensor(x.Shape);
            for (int o = 0; o < outer; o++)
            {
                var src = dy.Elements.Slice(o * inner, inner);
                for (int k = 0; k < n; k++) TensorPrimitives.Multiply(src, scale, dx.Elements.Slice((o * n + k) * inner, inner));
            }
            return [dx];
        });
    }
}
