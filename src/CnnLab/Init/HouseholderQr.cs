namespace CnnLab.Init;

/// <summary>
/// Reduced QR decomposition A = Q·R of a tall matrix (m ≥ n) by Householder reflections, in double.
/// Used by <see cref="Initializers.Orthogonal"/>; returns Q (m × n, orthonormal columns) and diag(R).
/// </summary>
internal static class HouseholderQr
{
    /// <summary>Decomposes <paramref name="a"/> (m × n row-major, m ≥ n; overwritten).</summary>
    public static (double[] Q, double[] RDiagonal) Decompose(double[] a, int m, int n)
    {
        if (m < n) throw new ArgumentException($"HouseholderQr needs m >= n, got {m} x {n}");
        var vs = new double[n][];
        var rDiag = new double[n];
        for (int k = 0; k < n; k++)
        {
            // x = A[k:, k]; reflect it onto −sign(x₀)·‖x‖·e₁ (the sign avoids cancellation in v = x − α e₁).
            double norm = 0;
            for (int i = k; i < m; i++) norm += a[i * n + k] * a[i * n + k];
            norm = Math.Sqrt(norm);
            double x0 = a[k * n + k];
            double alpha = x0 >= 0 ? -norm : norm;
            var v = new double[m - k];
            for (int i = k; i < m; i++) v[i - k] = a[i * n + k];
            v[0] -= alpha;
            double vNorm = 0;
            for (int i = 0; i < v.Length; i++) vNorm += v[i] * v[i];
            vNorm = Math.Sqrt(vNorm);
            rDiag[k] = alpha;
            if (vNorm == 0) { vs[k] = v; continue; } // column already zero below the diagonal: H = I
            for (int i = 0; i < v.Length; i++) v[i] /= vNorm;
            vs[k] = v;
            // A[k:, k:] −= 2·v·(vᵀ·A[k:, k:])
            for (int j = k; j < n; j++)
            {
                double dot = 0;
                for (int i = k; i < m; i++) dot += v[i - k] * a[i * n + j];
                dot *= 2;
                for (int i = k; i < m; i++) a[i * n + j] -= dot * v[i - k];
            }
        }
        // Q = H₀·H₁···H_{n−1}·I[:, :n], applied right to left.
        var q = new double[m * n];
        for (int i = 0; i < n; i++) q[i * n + i] = 1;
        for (int k = n - 1; k >= 0; k--)
        {
            var v = vs[k];
            bool identity = true;
            foreach (var x in v) if (x != 0) { identity = false; break; }
            if (identity) continue;
            for (int j = 0; j < n; j++)
            {
                double dot = 0;
                for (int i = k; i < m; i++) dot += v[i - k] * q[i * n + j];
                dot *= 2;
                for (int i = k; i < m; i++) q[i * n + j] -= dot * v[i - k];
            }
        }
        return (q, rDiag);
    }
}
