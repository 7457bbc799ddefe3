using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

// Legend: M rows of x (the batch, at most MaxRows), K inputs, N outputs. x [M, K], w [N, K], b [N], y [M, N].

/// <summary>
/// y = x·wᵀ + b for a batch of at most <see cref="MaxRows"/> rows (inference latency): every output is a dot product of
/// a row of x with a row of w, which is contiguous, so w is streamed once, four of its rows at a time (two for one row of x) against all of
/// x's rows, with no packing. The GEMM would first pack all of w (1.6 MB for cnn-small's 3136 → 128 layer) for a
/// product it then uses once. Each dot product runs in a fixed order (16 lanes, then the lanes summed), so results
/// do not depend on the thread count; they differ in the last bits from the GEMM's, as PyTorch's do between its paths.
/// </summary>
/// <remarks>PyTorch: <c>torch.nn.functional.linear</c> at batch 1 (oneDNN/MKL take their GEMV path there too).</remarks>
internal static unsafe class FewRowsLinear
{
    /// <summary>Batches up to this many rows take this path.</summary>
    public const int MaxRows = 4;

    // Rows of w per parallel item: enough work to be worth a hand-off.
    private const int RowsPerItem = 16;

    /// <summary>y [M, N] = x [M, K] · w [N, K]ᵀ + b (b empty: none).</summary>
    public static void Forward(int m, int n, int k, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, Span<float> y)
    {
        if (m < 1 || m > MaxRows) throw new ArgumentOutOfRangeException(nameof(m), m, $"1 to {MaxRows} rows");
        if (x.Length < m * k || w.Length < (long)n * k || y.Length < m * n || (!b.IsEmpty && b.Length < n))
            throw new ArgumentException($"linear buffers too small for [{m}, {k}] · [{n}, {k}]ᵀ");
        fixed (float* px = x, pw = w, pb = b, py = y)
        {
            nint xs = (nint)px, ws = (nint)pw, bs = b.IsEmpty ? 0 : (nint)pb, ys = (nint)py;
            int items = (n + RowsPerItem - 1) / RowsPerItem;
            // Work too small to split runs on the caller's thread (a hand-off costs more than it saves).
            int minItems = (long)n * k < 1 << 16 ? items : 1;
            Parallelism.For(items, minItems, (i0, i1) =>
            {
                int o = i0 * RowsPerItem, end = Math.Min(n, i1 * RowsPerItem);
                if (m == 1 && Vector512.IsHardwareAccelerated)
                    for (; o + 2 <= end; o += 2) TwoRows((float*)xs, k, (float*)ws, o, (float*)bs, (float*)ys);
                for (; o < end; o += 4)
                    Rows((float*)xs, m, k, (float*)ws, o, Math.Min(4, end - o), (float*)bs, (float*)ys, n);
            });
        }
    }

    // y[o + j] = b[o + j] + x · w[o + j] for j < 2, one row of x: two chains kept in registers (Rows keeps its accumulators
    // in an array the JIT leaves in memory, a store-to-load round trip per step). Two rows of w streamed at a time read w
    // from L3 faster than eight (bench/RESULTS.md). The same chains in the same order as Rows, so the same bits.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TwoRows(float* x, int k, float* w, int o, float* b, float* y)
    {
        Vector512<float> a0 = default, a1 = default;
        float* w0 = w + (long)o * k, w1 = w0 + k;
        int kk = 0;
        for (; kk + 16 <= k; kk += 16)
        {
            var xv = Vector512.Load(x + kk);
            a0 = Vector512.FusedMultiplyAdd(xv, Vector512.Load(w0 + kk), a0);
            a1 = Vector512.FusedMultiplyAdd(xv, Vector512.Load(w1 + kk), a1);
        }
        float s0 = Vector512.Sum(a0), s1 = Vector512.Sum(a1);
        for (int t = kk; t < k; t++)
        {
            s0 = MathF.FusedMultiplyAdd(x[t], w0[t], s0);
            s1 = MathF.FusedMultiplyAdd(x[t], w1[t], s1);
        }
        y[o] = b != null ? s0 + b[o] : s0;
        y[o + 1] = b != null ? s1 + b[o + 1] : s1;
    }

    // y[r, o + j] = b[o + j] + x[r] · w[o + j] for r < m, j < count (≤ 4).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows(float* x, int m, int k, float* w, int o, int count, float* b, float* y, int n)
    {
        var acc = stackalloc Vector512<float>[MaxRows * 4];
        for (int i = 0; i < m * 4; i++) acc[i] = Vector512<float>.Zero;
        int kk = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; kk + 16 <= k; kk += 16)
                for (int j = 0; j < count; j++)
                {
                    var wv = Vector512.Load(w + (long)(o + j) * k + kk);
                    for (int r = 0; r < m; r++) acc[r * 4 + j] = Vector512.FusedMultiplyAdd(Vector512.Load(x + (long)r * k + kk), wv, acc[r * 4 + j]);
                }
        for (int r = 0; r < m; r++)
            for (int j = 0; j < count; j++)
            {
                float sum = Vector512.Sum(acc[r * 4 + j]);
                float* wr = w + (long)(o + j) * k, xr = x + (long)r * k;
                for (int t = kk; t < k; t++) sum = MathF.FusedMultiplyAdd(xr[t], wr[t], sum);
                y[(long)r * n + o + j] = b != null ? sum + b[o + j] : sum;
            }
    }
}
