using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

// Legend: n elements; x input, y = ReLU(x) output, dy, dx gradients of y and x (all length n).

/// <summary>
/// ReLU forward y = max(0, x) and backward dx = dy · [y &gt; 0], vectorized (512/256-bit with a
/// scalar tail) and split into blocks that the cores take dynamically. Each element is computed
/// alone, so results are the same for every thread count. The *Reference methods are the scalar twins.
/// </summary>
/// <remarks>PyTorch: <c>torch.relu</c> and <c>threshold_backward</c>.</remarks>
public static class ReluKernel
{
    // Elements per parallel block: big enough to amortize a hand-off, small enough to balance 2 cores.
    private const int Block = 32768;

    /// <summary>y = max(0, x) (NaN stays NaN).</summary>
    public static unsafe void Forward(ReadOnlySpan<float> x, Span<float> y)
    {
        int n = Check(x.Length, y.Length, x.Length);
        fixed (float* px = x, py = y)
        {
            nint xs = (nint)px, ys = (nint)py;
            Parallelism.For((n + Block - 1) / Block, 2, (b0, b1) =>
            {
                int start = b0 * Block, end = Math.Min(n, b1 * Block);
                TensorPrimitives.Max(new ReadOnlySpan<float>((float*)xs + start, end - start), 0f, new Span<float>((float*)ys + start, end - start));
            });
        }
    }

    /// <summary>The scalar twin of <see cref="Forward"/>.</summary>
    public static void ForwardReference(ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] = float.IsNaN(x[i]) ? x[i] : Math.Max(0f, x[i]);
    }

    /// <summary>Forward: y = max(0, x). So dx = dy where y &gt; 0, else 0. Overwrites dx.</summary>
    public static unsafe void Backward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        int n = Check(y.Length, dy.Length, dx.Length);
        fixed (float* py = y, pg = dy, pd = dx)
        {
            nint ys = (nint)py, gs = (nint)pg, ds = (nint)pd;
            Parallelism.For((n + Block - 1) / Block, 2, (b0, b1) =>
            {
                int start = b0 * Block, end = Math.Min(n, b1 * Block);
                BackwardBlock((float*)ys + start, (float*)gs + start, (float*)ds + start, end - start);
            });
        }
    }

    /// <summary><see cref="Backward"/> on the calling thread alone (for kernels that are already inside a parallel loop).</summary>
    public static unsafe void BackwardOnThisThread(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        int n = Check(y.Length, dy.Length, dx.Length);
        fixed (float* py = y, pg = dy, pd = dx) BackwardBlock(py, pg, pd, n);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void BackwardBlock(float* y, float* dy, float* dx, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= n - 16; i += 16)
            {
                var mask = Vector512.GreaterThan(Vector512.Load(y + i), Vector512<float>.Zero);
                Vector512.Store(Vector512.Load(dy + i) & mask, dx + i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - 8; i += 8)
            {
                var mask = Vector256.GreaterThan(Vector256.Load(y + i), Vector256<float>.Zero);
                Vector256.Store(Vector256.Load(dy + i) & mask, dx + i);
            }
        }
        for (; i < n; i++) dx[i] = y[i] > 0f ? dy[i] : 0f;
    }

    /// <summary>The scalar twin of <see cref="Backward"/>.</summary>
    public static void BackwardReference(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        for (int i = 0; i < y.Length; i++) dx[i] = y[i] > 0f ? dy[i] : 0f;
    }

    private static int Check(int a, int b, int c)
    {
        if (a != b || a != c) throw new ArgumentException($"ReLU buffers differ in length: {a}, {b}, {c}");
        return a;
    }
}
