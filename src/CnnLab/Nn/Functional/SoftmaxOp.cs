using CnnLab.Tensors;

namespace CnnLab.Nn;

public static partial class Functional
{
    /// <summary>softmax(x)ᵢ = e^(xᵢ − max x) / Σⱼ e^(xⱼ − max x) along <paramref name="axis"/> (max subtracted for stability).</summary>
    /// <remarks>PyTorch: <c>torch.softmax(x, dim)</c>.</remarks>
    public static Tensor Softmax(Tensor x, int axis = -1)
    {
        var (outer, n, inner) = AxisLayout(x, axis);
        var y = new Tensor(x.Shape);
        ForEachLine(outer, n, inner, (xi, yi) => SoftmaxLine(x.Elements, y.Elements, xi, n, inner, log: false));
        // y = softmax(x)  →  dx = y ⊙ (dy − Σ dy⊙y)
        return Autograd.Record(y, "SoftmaxBackward", [x], dy =>
        {
            var dx = new Tensor(x.Shape);
            var ys = y.Buffer; var g = dy.Buffer; var d = dx.Buffer;
            ForEachLine(outer, n, inner, (off, _) =>
            {
                double dot = 0;
                for (int k = 0; k < n; k++) dot += (double)g[off + k * inner] * ys[off + k * inner];
                for (int k = 0; k < n; k++) d[off + k * inner] = (float)(ys[off + k * inner] * (g[off + k * inner] - dot));
            });
            return [dx];
        });
    }

    /// <summary>log softmax(x) = x − max − log Σ e^(x − max) along <paramref name="axis"/>.</summary>
    /// <remarks>PyTorch: <c>torch.log_softmax(x, dim)</c>.</remarks>
    public static Tensor LogSoftmax(Tensor x, int axis = -1)
    {
        var (outer, n, inner) = AxisLayout(x, axis);
        var y = new Tensor(x.Shape);
        ForEachLine(outer, n, inner, (xi, _) => SoftmaxLine(x.Elements, y.Elements, xi, n, inner, log: true));
        // y = x − logΣeˣ  →  dx = dy − softmax(x)·Σ dy
        return Autograd.Record(y, "LogSoftmaxBackward", [x], dy =>
        {
            var dx = new Tensor(x.Shape);
            var ys = y.Buffer; var g = dy.Buffer; var d = dx.Buffer;
            ForEachLine(outer, n, inner, (off, _) =>
            {
                double sum = 0;
                for (int k = 0; k < n; k++) sum += g[off + k * inner];
                for (int k = 0; k < n; k++) d[off + k * inner] = (float)(g[off + k * inner] - Math.Exp(ys[off + k * inner]) * sum);
            });
            return [dx];
        });
    }

    private static (int Outer, int N, int Inner) AxisLayout(Tensor x, int axis)
    {
        if (x.Rank == 0) throw new ArgumentException("softmax needs at least one dimension");
        int ax = Shape.NormalizeAxis(axis, x.Rank);
        int outer = 1, inner = 1;
        for (int i = 0; i < ax; i++) outer *= x.Shape[i];
        for (int i = ax + 1; i < x.Rank; i++) inner *= x.Shape[i];
        return (outer, x.Shape[ax], inner);
    }

    // Calls body(offset of element 0 of the line, same) for each line along the axis.
    private static void ForEachLine(int outer, int n, int inner, Action<int, int> body)
    {
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                int off = o * n * inner + i;
                body(off, off);
            }
    }

    private static void SoftmaxLine(Span<float> x, Span<float> y, int off, int n, int inner, bool log)
    {
        float max = float.NegativeInfinity;
        for (int k = 0; k < n; k++) max = Math.Max(max, x[off + k * inner]);
        double sum = 0;
        for (int k = 0; k < n; k++) sum += Math.Exp(x[off + k * inner] - max);
        if (log)
        {
            double lse = max + Math.Log(sum);
            for (int k = 0; k < n; k++) y[off + k * inner] = (float)(x[off + k * inner] - lse);
        }
        else
        {
            for (int k = 0; k < n; k++) y[off + k * inner] = (float)(Math.Exp(x[off + k * inner] - max) / sum);
        }
    }
}
