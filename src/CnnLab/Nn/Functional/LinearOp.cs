using CnnLab.Kernels;
using CnnLab.Tensors;

namespace CnnLab.Nn;

public static partial class Functional
{
    /// <summary>
    /// y = x·Wᵀ + b for x [N, in] (or [*, in]), W [out, in], b [out] → y [N, out].
    /// </summary>
    /// <remarks>PyTorch: <c>torch.nn.functional.linear</c>.</remarks>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null)
    {
        if (weight.Rank != 2) throw new ArgumentException($"Linear weight must be [out, in], got {Shape.Format(weight.Shape)}");
        int outF = weight.Shape[0], inF = weight.Shape[1];
        if (x.Rank < 1 || x.Shape[^1] != inF)
            throw new ArgumentException($"Linear expects input [*, {inF}], got {Shape.Format(x.Shape)}");
        if (bias is not null && (bias.Rank != 1 || bias.Shape[0] != outF))
            throw new ArgumentException($"Linear bias must be [{outF}], got {Shape.Format(bias.Shape)}");
        int n = x.Numel / Math.Max(1, inF);
        var outShape = (int[])x.Shape.Clone();
        outShape[^1] = outF;
        var y = Tensor.ForOp(outShape);
        // y[N, out] = x[N, in] · W[out, in]ᵀ + b: a few rows as dot products over W's rows (latency), else the GEMM,
        // the bias added in its epilogue (per column of y)
        if (n >= 1 && n <= FewRowsLinear.MaxRows && inF > 0)
            FewRowsLinear.Forward(n, outF, inF, x.Elements, weight.Elements, bias is null ? default : bias.Elements, y.Elements);
        else
            Gemm.Sgemm(false, true, n, outF, inF, 1f, x.Elements, Math.Max(1, inF), weight.Elements, Math.Max(1, inF), 0f, y.Elements,
                Math.Max(1, outF),
                bias is null ? GemmEpilogue.None : GemmEpilogue.WithColBias(bias.Elements));
        Tensor[] inputs = bias is null ? [x, weight] : [x, weight, bias];
        return Autograd.Record(y, "LinearBackward", inputs, dy =>
        {
            // y = x·Wᵀ + b  →  dx = dy·W,  dW = dyᵀ·x,  db = Σ_n dy
            Tensor? dx = null, dw = null, db = null;
            if (x.RequiresGrad)
            {
                dx = Tensor.ForOp(x.Shape);
                Gemm.Sgemm(false, false, n, inF, outF, 1f, dy.Elements, Math.Max(1, outF), weight.Elements, Math.Max(1, inF), 0f,
                    dx.Elements, Math.Max(1, inF));
            }
            if (weight.RequiresGrad)
            {
                dw = Tensor.ForOp(weight.Shape);
                Gemm.Sgemm(true, false, outF, inF, n, 1f, dy.Elements, Math.Max(1, outF), x.Elements, Math.Max(1, inF), 0f, dw.Elements,
                    Math.Max(1, inF));
            }
            if (bias is not null && bias.RequiresGrad)
            {
                db = Tensor.ForOp([outF], zeroed: true);
                for (int i = 0; i < n; i++) TensorPrimitives.Add(db.Elements, dy.Elements.Slice(i * outF, outF), db.Elements);
            }
            return bias is null ? [dx, dw] : [dx, dw, db];
        });
    }
}
