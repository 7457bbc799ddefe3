using CnnLab.Kernels;

namespace CnnLab.Tensors;

public static partial class TensorMath
{
    /// <summary>Matrix product of a [M, K] and b [K, N] → [M, N].</summary>
    public static Tensor Matmul(Tensor a, Tensor b)
    {
        if (a.Rank != 2 || b.Rank != 2 || a.Shape[1] != b.Shape[0])
            throw new ArgumentException($"Matmul expects [M, K] x [K, N], got {Shape.Format(a.Shape)} x {Shape.Format(b.Shape)}");
        int m = a.Shape[0], k = a.Shape[1], n = b.Shape[1];
        var y = new Tensor(m, n);
        Gemm.Sgemm(false, false, m, n, k, 1f, a.Elements, Math.Max(1, k), b.Elements, Math.Max(1, n), 0f, y.Elements, Math.Max(1, n));
        // y = a·b  →  da = dy·bᵀ,  db = aᵀ·dy
        return Autograd.Record(y, "MmBackward", [a, b], dy =>
        {
            Tensor? da = null, db = null;
            if (a.RequiresGrad)
            {
                da = new Tensor(m, k);
                Gemm.Sgemm(false, true, m, k, n, 1f, dy.Elements, Math.Max(1, n), b.Elements, Math.Max(1, n), 0f, da.Elements, Math.Max(1, k));
            }
            if (b.RequiresGrad)
            {
                db = new Tensor(k, n);
                Gemm.Sgemm(true, false, k, n, m, 1f, a.Elements, Math.Max(1, k), dy.Elements, Math.Max(1, n), 0f, db.Elements, Math.Max(1, n));
            }
            return [da, db];
        });
    }

    /// <summary>The transpose of a matrix [M, N] → [N, M] (a copy; CnnLab tensors are always contiguous).</summary>
    public static Tensor Transpose(Tensor x)
    {
        if (x.Rank != 2) throw new ArgumentException($"Transpose expects a matrix, got shape {Shape.Format(x.Shape)}");
        int m = x.Shape[0], n = x.Shape[1];
        var y = new Tensor(n, m);
        TransposeInto(x.Elements, y.Elements, m, n);
        return Autograd.Record(y, "TBackward", [x], dy =>
        {
            var dx = new Tensor(m, n);
            TransposeInto(dy.Elements, dx.Elements, n, m);
            return [dx];
        });
    }

    private static void TransposeInto(ReadOnlySpan<float> src, Span<float> dst, int rows, int cols)
    {
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                dst[j * rows + i] = src[i * cols + j];
    }
}
