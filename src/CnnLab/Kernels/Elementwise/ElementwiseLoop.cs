using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

// Legend: n elements; x input, y output (length n); a, b, c inputs and d output of a three-input map.

/// <summary>An elementwise function of one input: a scalar form and a 16-lane form that compute the same formula.</summary>
internal interface IUnaryLanes
{
    float Invoke(float x);

    Vector512<float> Invoke(Vector512<float> x);
}

/// <summary>An elementwise function of three inputs (a backward's x, y, dy), in scalar and 16-lane form.</summary>
internal interface ITernaryLanes
{
    float Invoke(float a, float b, float c);

    Vector512<float> Invoke(Vector512<float> a, Vector512<float> b, Vector512<float> c);
}

/// <summary>
/// The one loop behind every vectorized activation (the pattern of System.Numerics.Tensors' operator structs):
/// blocks of 32k elements that the cores take dynamically, 16 lanes at a time, and the last partial vector through
/// a zero-padded copy, so that every element goes through the same lane code whatever its position or the thread
/// count (the same bits). Vector512 code runs as two 256-bit halves where AVX-512 is missing; without any SIMD the
/// scalar form runs instead.
/// </summary>
internal static class ElementwiseLoop
{
    // Elements per parallel block: big enough to amortize a hand-off, small enough to balance 2 cores.
    private const int Block = 32768;

    private static bool Simd => Vector512.IsHardwareAccelerated || Vector256.IsHardwareAccelerated;

    /// <summary>y[i] = op(x[i]).</summary>
    public static unsafe void Map<TOp>(TOp op, ReadOnlySpan<float> x, Span<float> y) where TOp : struct, IUnaryLanes
    {
        if (x.Length != y.Length) throw new ArgumentException($"elementwise buffers differ in length: {x.Length}, {y.Length}");
        int n = x.Length;
        fixed (float* px = x, py = y)
        {
            nint xs = (nint)px, ys = (nint)py;
            Parallelism.For((n + Block - 1) / Block, 2, (b0, b1) =>
            {
                int start = b0 * Block, end = Math.Min(n, b1 * Block);
                MapBlock(op, (float*)xs + start, (float*)ys + start, end - start);
            });
        }
    }

    /// <summary>d[i] = op(a[i], b[i], c[i]).</summary>
    public static unsafe void Map<TOp>(TOp op, ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> c, Span<float> d)
        where TOp : struct, ITernaryLanes
    {
        if (a.Length != d.Length || b.Length != d.Length || c.Length != d.Length)
            throw new ArgumentException($"elementwise buffers differ in length: {a.Length}, {b.Length}, {c.Length}, {d.Length}");
        int n = d.Length;
        fixed (float* pa = a, pb = b, pc = c, pd = d)
        {
            nint sa = (nint)pa, sb = (nint)pb, sc = (nint)pc, sd = (nint)pd;
            Parallelism.For((n + Block - 1) / Block, 2, (b0, b1) =>
            {
                int start = b0 * Block, end = Math.Min(n, b1 * Block);
                MapBlock(op, (float*)sa + start, (float*)sb + start, (float*)sc + start, (float*)sd + start, end - start);
            });
        }
    }

    /// <summary><see cref="Map{TOp}(TOp, ReadOnlySpan{float}, Span{float})"/> on the calling thread (inside a kernel's parallel loop).</summary>
    public static unsafe void MapOnThisThread<TOp>(TOp op, ReadOnlySpan<float> x, Span<float> y) where TOp : struct, IUnaryLanes
    {
        if (x.Length != y.Length) throw new ArgumentException($"elementwise buffers differ in length: {x.Length}, {y.Length}");
        fixed (float* px = x, py = y) MapBlock(op, px, py, x.Length);
    }

    /// <summary>The three-input map on the calling thread.</summary>
    public static unsafe void MapOnThisThread<TOp>(TOp op, ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> c, Span<float> d)
        where TOp : struct, ITernaryLanes
    {
        if (a.Length != d.Length || b.Length != d.Length || c.Length != d.Length)
            throw new ArgumentException($"elementwise buffers differ in length: {a.Length}, {b.Length}, {c.Length}, {d.Length}");
        fixed (float* pa = a, pb = b, pc = c, pd = d) MapBlock(op, pa, pb, pc, pd, d.Length);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void MapBlock<TOp>(TOp op, float* x, float* y, int n) where TOp : struct, IUnaryLanes
    {
        if (!Simd)
        {
            for (int j = 0; j < n; j++) y[j] = op.Invoke(x[j]);
            return;
        }
        int i = 0;
        for (; i <= n - 16; i += 16) Vector512.Store(op.Invoke(Vector512.Load(x + i)), y + i);
        if (i == n) return;
        var tail = stackalloc float[16];
        new Span<float>(tail, 16).Clear();
        new ReadOnlySpan<float>(x + i, n - i).CopyTo(new Span<float>(tail, 16));
        Vector512.Store(op.Invoke(Vector512.Load(tail)), tail);
        new ReadOnlySpan<float>(tail, n - i).CopyTo(new Span<float>(y + i, n - i));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void MapBlock<TOp>(TOp op, float* a, float* b, float* c, float* d, int n) where TOp : struct, ITernaryLanes
    {
        if (!Simd)
        {
            for (int j = 0; j < n; j++) d[j] = op.Invoke(a[j], b[j], c[j]);
            return;
        }
        int i = 0;
        for (; i <= n - 16; i += 16) Vector512.Store(op.Invoke(Vector512.Load(a + i), Vector512.Load(b + i), Vector512.Load(c + i)), d + i);
        if (i == n) return;
        var tail = stackalloc float[48];
        new Span<float>(tail, 48).Clear();
        new ReadOnlySpan<float>(a + i, n - i).CopyTo(new Span<float>(tail, 16));
        new ReadOnlySpan<float>(b + i, n - i).CopyTo(new Span<float>(tail + 16, 16));
        new ReadOnlySpan<float>(c + i, n - i).CopyTo(new Span<float>(tail + 32, 16));
        Vector512.Store(op.Invoke(Vector512.Load(tail), Vector512.Load(tail + 16), Vector512.Load(tail + 32)), tail);
        new ReadOnlySpan<float>(tail, n - i).CopyTo(new Span<float>(d + i, n - i));
    }
}
