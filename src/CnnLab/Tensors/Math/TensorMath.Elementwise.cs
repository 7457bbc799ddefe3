using CnnLab.Kernels;

namespace CnnLab.Tensors;

/// <summary>
/// The tensor's own arithmetic, differentiable, each forward beside its backward: what <see cref="Tensor"/>'s operators,
/// Sum, Mean, Matmul and Pow run. It lives with the tensor so that Tensors needs nothing above it; the layers' ops are
/// in <c>Nn.Functional</c>, which also offers these under the same names.
/// </summary>
/// <remarks>PyTorch: <c>torch.add</c>, <c>torch.sum</c>, <c>torch.matmul</c>, ….</remarks>
public static partial class TensorMath
{
    private enum BinaryOp { Add, Sub, Mul, Div }

    /// <summary>a + b with broadcasting.</summary>
    public static Tensor Add(Tensor a, Tensor b) => Binary(a, b, BinaryOp.Add);

    /// <summary>a - b with broadcasting.</summary>
    public static Tensor Sub(Tensor a, Tensor b) => Binary(a, b, BinaryOp.Sub);

    /// <summary>a ⊙ b (elementwise) with broadcasting.</summary>
    public static Tensor Mul(Tensor a, Tensor b) => Binary(a, b, BinaryOp.Mul);

    /// <summary>a / b (elementwise) with broadcasting.</summary>
    public static Tensor Div(Tensor a, Tensor b) => Binary(a, b, BinaryOp.Div);

    private static Tensor Binary(Tensor a, Tensor b, BinaryOp op)
    {
        var outShape = Shape.Broadcast(a.Shape, b.Shape);
        var y = Tensor.ForOp(outShape);
        var ma = Expand(a, outShape);
        var mb = Expand(b, outShape);
        var ea = ma.Span;
        var eb = mb.Span;
        switch (op)
        {
            case BinaryOp.Add: TensorPrimitives.Add(ea, eb, y.Elements); break;
            case BinaryOp.Sub: TensorPrimitives.Subtract(ea, eb, y.Elements); break;
            case BinaryOp.Mul: TensorPrimitives.Multiply(ea, eb, y.Elements); break;
            default: TensorPrimitives.Divide(ea, eb, y.Elements); break;
        }
        return Autograd.Record(y, op + "Backward", [a, b], dy =>
        {
            // y = a + b: da = dy, db = dy.  y = a - b: db = -dy.
            // y = a * b: da = dy * b, db = dy * a.  y = a / b: da = dy / b, db = -dy * a / b².
            Tensor? da = null, db = null;
            var ea = ma.Span;
            var eb = mb.Span;
            // y = a ± b of one shape: da = dy itself, no copy (PyTorch's AddBackward does the same).
            if (op == BinaryOp.Add && a.RequiresGrad && Shape.Equal(a.Shape, outShape)) da = dy;
            else if (a.RequiresGrad)
            {
                var full = Tensor.ForOp(outShape);
                switch (op)
                {
                    case BinaryOp.Mul: TensorPrimitives.Multiply(dy.Elements, eb, full.Elements); break;
                    case BinaryOp.Div: TensorPrimitives.Divide(dy.Elements, eb, full.Elements); break;
                    default: dy.Elements.CopyTo(full.Elements); break;
                }
                da = ReduceTo(full, a.Shape);
            }
            if (op == BinaryOp.Add && b.RequiresGrad && Shape.Equal(b.Shape, outShape)) db = dy;
            else if (b.RequiresGrad)
            {
                var full = Tensor.ForOp(outShape);
                var d = full.Elements;
                switch (op)
                {
                    case BinaryOp.Add: dy.Elements.CopyTo(d); break;
                    case BinaryOp.Sub: TensorPrimitives.Negate(dy.Elements, d); break;
                    case BinaryOp.Mul: TensorPrimitives.Multiply(dy.Elements, ea, d); break;
                    default:
                        for (int i = 0; i < d.Length; i++) d[i] = -dy.Elements[i] * ea[i] / (eb[i] * eb[i]);
                        break;
                }
                db = ReduceTo(full, b.Shape);
            }
            return [da, db];
        });
    }

    // The values of t broadcast to outShape, as a span (t's own data when no broadcast is needed).
    private static ReadOnlyMemory<float> Expand(Tensor t, int[] outShape)
    {
        if (Shape.Equal(t.Shape, outShape)) return t.Buffer.AsMemory(0, t.Numel);
        var result = new float[Shape.Numel(outShape)];
        if (t.Numel == 1) { result.AsSpan().Fill(t.Buffer[0]); return result; }
        if (Broadcasting.IsSuffix(t.Shape, outShape))
        {
            for (int off = 0; off < result.Length; off += t.Numel) t.Elements.CopyTo(result.AsSpan(off));
            return result;
        }
        var map = Broadcasting.SourceIndices(t.Shape, outShape);
        var src = t.Buffer;
        for (int i = 0; i < result.Length; i++) result[i] = src[map[i]];
        return result;
    }

    private static Tensor ReduceTo(Tensor full, int[] shape)
    {
        if (Shape.Equal(full.Shape, shape)) return full;
        var r = Tensor.ForOp(shape, zeroed: true);
        Broadcasting.SumTo(full.Elements, full.Shape, r.Elements, shape);
        return r;
    }

    /// <summary>x + s.</summary>
    public static Tensor AddScalar(Tensor x, float s)
    {
        var y = Tensor.ForOp(x.Shape);
        TensorPrimitives.Add(x.Elements, s, y.Elements);
        return Autograd.Record(y, "AddBackward", [x], dy => [dy]);
    }

    /// <summary>x · s.</summary>
    public static Tensor MulScalar(Tensor x, float s)
    {
        var y = Tensor.ForOp(x.Shape);
        TensorPrimitives.Multiply(x.Elements, s, y.Elements);
        // y = s·x  →  dx = s·dy
        return Autograd.Record(y, "MulBackward", [x], dy =>
        {
            var dx = Tensor.ForOp(x.Shape);
            TensorPrimitives.Multiply(dy.Elements, s, dx.Elements);
            return [dx];
        });
    }

    /// <summary>-x.</summary>
    public static Tensor Neg(Tensor x) => MulScalar(x, -1f);
}
