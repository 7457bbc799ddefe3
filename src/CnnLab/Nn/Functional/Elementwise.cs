using CnnLab.Kernels;
using CnnLab.Tensors;

namespace CnnLab.Nn;

/// <summary>
/// Differentiable operations on tensors, each forward beside its backward.
/// </summary>
/// <remarks>PyTorch: <c>torch</c> and <c>torch.nn.functional</c>.</remarks>
public static partial class Functional
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
        var y = new Tensor(outShape);
        var ma = Expand(a, outShape);
        var mb = Expand(b, outShape);
        var ea = ma.Span;
        var eb = mb.Span;
        switch (op)
        {
            case BinaryOp.Add: TensorPrimitives.Add(ea, eb, y.Data); break;
            case BinaryOp.Sub: TensorPrimitives.Subtract(ea, eb, y.Data); break;
            case BinaryOp.Mul: TensorPrimitives.Multiply(ea, eb, y.Data); break;
            default: TensorPrimitives.Divide(ea, eb, y.Data); break;
        }
        return Autograd.Record(y, op + "Backward", [a, b], dy =>
        {
            // y = a + b: da = dy, db = dy.  y = a - b: db = -dy.
            // y = a * b: da = dy * b, db = dy * a.  y = a / b: da = dy / b, db = -dy * a / b².
            Tensor? da = null, db = null;
            var ea = ma.Span;
            var eb = mb.Span;
            if (a.RequiresGrad)
            {
                var full = op switch
                {
                    BinaryOp.Mul => Combine(dy.Data, eb, TensorPrimitives.Multiply),
                    BinaryOp.Div => Combine(dy.Data, eb, TensorPrimitives.Divide),
                    _ => dy.Data.ToArray(),
                };
                da = ReduceTo(full, outShape, a.Shape);
            }
            if (b.RequiresGrad)
            {
                float[] full;
                switch (op)
                {
                    case BinaryOp.Add: full = dy.Data.ToArray(); break;
                    case BinaryOp.Sub: full = new float[dy.Numel]; TensorPrimitives.Negate(dy.Data, full); break;
                    case BinaryOp.Mul: full = Combine(dy.Data, ea, TensorPrimitives.Multiply); break;
                    default:
                        full = new float[dy.Numel];
                        for (int i = 0; i < full.Length; i++) full[i] = -dy.Data[i] * ea[i] / (eb[i] * eb[i]);
                        break;
                }
                db = ReduceTo(full, outShape, b.Shape);
            }
            return [da, db];
        });
    }

    private delegate void SpanBinary(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> d);

    private static float[] Combine(ReadOnlySpan<float> x, ReadOnlySpan<float> y, SpanBinary f)
    {
        var r = new float[x.Length];
        f(x, y, r);
        return r;
    }

    // The values of t broadcast to outShape, as a span (t's own data when no broadcast is needed).
    private static ReadOnlyMemory<float> Expand(Tensor t, int[] outShape)
    {
        if (Shape.Equal(t.Shape, outShape)) return t.Storage.AsMemory(0, t.Numel);
        var result = new float[Shape.Numel(outShape)];
        if (t.Numel == 1) { result.AsSpan().Fill(t.Storage[0]); return result; }
        if (Broadcasting.IsSuffix(t.Shape, outShape))
        {
            for (int off = 0; off < result.Length; off += t.Numel) t.Data.CopyTo(result.AsSpan(off));
            return result;
        }
        var map = Broadcasting.SourceIndices(t.Shape, outShape);
        var src = t.Storage;
        for (int i = 0; i < result.Length; i++) result[i] = src[map[i]];
        return result;
    }

    private static Tensor ReduceTo(float[] full, int[] fullShape, int[] shape)
    {
        if (Shape.Equal(fullShape, shape)) return new Tensor(full, shape);
        var r = new Tensor(shape);
        Broadcasting.SumTo(full, fullShape, r.Data, shape);
        return r;
    }

    /// <summary>x + s.</summary>
    public static Tensor AddScalar(Tensor x, float s)
    {
        var y = new Tensor(x.Shape);
        TensorPrimitives.Add(x.Data, s, y.Data);
        return Autograd.Record(y, "AddBackward", [x], dy => [dy]);
    }

    /// <summary>x · s.</summary>
    public static Tensor MulScalar(Tensor x, float s)
    {
        var y = new Tensor(x.Shape);
        TensorPrimitives.Multiply(x.Data, s, y.Data);
        // y = s·x  →  dx = s·dy
        return Autograd.Record(y, "MulBackward", [x], dy =>
        {
            var dx = new Tensor(x.Shape);
            TensorPrimitives.Multiply(dy.Data, s, dx.Data);
            return [dx];
        });
    }

    /// <summary>-x.</summary>
    public static Tensor Neg(Tensor x) => MulScalar(x, -1f);
}
