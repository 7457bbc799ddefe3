using CnnLab.Tensors;

namespace CnnLab.Init;

public static partial class Initializers
{
    /// <summary>
    /// Fills <paramref name="tensor"/> (≥ 2 dims) with a (semi-)orthogonal matrix times <paramref name="gain"/>,
    /// as PyTorch: view it as W [rows, numel/rows], draw A ~ N(0, 1) of that shape (transposed if rows &lt; cols),
    /// A = Q·R by Householder QR (in double), Q ← Q·diag(sign(diag R)) so that Q is Haar-distributed, transpose
    /// back. Then W·Wᵀ = gain²·I when rows ≤ cols, Wᵀ·W = gain²·I otherwise. Saxe, McClelland &amp; Ganguli (2013),
    /// "Exact solutions to the nonlinear dynamics of learning in deep linear neural networks", arXiv:1312.6120:
    /// orthogonal weights keep every singular value at 1, so deep linear nets neither shrink nor amplify any
    /// direction of the signal.
    /// </summary>
    /// <remarks>PyTorch: <c>torch.nn.init.orthogonal_(tensor, gain=1)</c>.</remarks>
    public static Tensor Orthogonal(Tensor tensor, double gain = 1.0, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Rank < 2)
            throw new ArgumentException($"Only tensors with 2 or more dimensions are supported (got shape {Shape.Format(tensor.Shape)})");
        if (tensor.Numel == 0) return tensor;
        var gen = Gen(generator);
        int rows = tensor.Shape[0], cols = tensor.Numel / rows;
        bool transpose = rows < cols;
        int m = transpose ? cols : rows, n = transpose ? rows : cols;
        // flattened [rows, cols] ~ N(0, 1), drawn in row-major order, then transposed if rows < cols
        var flat = new double[rows * cols];
        for (int i = 0; i < flat.Length; i++) flat[i] = (float)gen.NextGaussian();
        var a = transpose ? TransposeMatrix(flat, rows, cols) : flat;
        var (q, rDiag) = HouseholderQr.Decompose(a, m, n);
        for (int j = 0; j < n; j++)
        {
            double sign = Math.Sign(rDiag[j]);
            for (int i = 0; i < m; i++) q[i * n + j] *= sign;
        }
        var w = transpose ? TransposeMatrix(q, m, n) : q;
        using (Autograd.NoGrad())
        {
            var data = tensor.Elements;
            for (int i = 0; i < data.Length; i++) data[i] = (float)(w[i] * gain);
        }
        return Written(tensor);
    }

    private static double[] TransposeMatrix(double[] src, int rows, int cols)
    {
        var dst = new double[src.Length];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) dst[j * rows + i] = src[i * cols + j];
        return dst;
    }
}
