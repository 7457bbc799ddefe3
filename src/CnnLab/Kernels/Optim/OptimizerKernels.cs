namespace CnnLab.Kernels;

// Legend: p parameter, g gradient, m first moment (exp_avg), v second moment (exp_avg_sq),
// b momentum buffer; every span holds one whole parameter buffer of n elements.

/// <summary>
/// The elementwise update loops of SGD, Adam/AdamW and RMSprop over whole parameter buffers, in place.
/// Each follows PyTorch 1.13's <c>_single_tensor_*</c> code path operation by operation, with the
/// rounding of PyTorch's CPU kernels: <c>a.add(b, alpha=s)</c> is one fused multiply-add
/// <c>fma(b, s, a)</c>, <c>a.addcmul(t1, t2, value=s)</c> is <c>fma(s·t1, t2, a)</c>,
/// <c>a.addcdiv(t1, t2, value=s)</c> is <c>a + (s·t1)/t2</c>, and every scalar is rounded to float32
/// before use. The fast paths are one vector loop per kernel, run with Vector512 or Vector256
/// (<see cref="IOptimizerLanes{TV}"/>), doing the same operations lane by lane
/// (IEEE add, multiply, divide, sqrt and FMA are exactly rounded, so fast and reference agree bit
/// for bit); the <c>*Reference</c> methods are the plain scalar twins and the specification.
/// </summary>
public static partial class OptimizerKernels
{
    // Buffers from this many floats are updated by all kernel threads, in ranges of RangeFloats.
    private const int ParallelFloats = 1 << 16, RangeFloats = 1 << 14;

    private static bool SplitsAcrossThreads(int n) => n >= ParallelFloats && Parallelism.MaxThreads > 1;

    // The public kernels run the 512-bit loops wherever 512-bit vectors are accelerated. Each has an internal
    // *WithWidth twin whose use512 false takes the 256-bit loops instead (where those run), so the tests reach both
    // widths' instances of the one generic loop against the scalar twins on an AVX-512 machine.

    // Runs body(start, length) over [0, n) in ranges of RangeFloats (a multiple of every vector width,
    // so each element takes the same path, vector or scalar tail, as in one call: the same bits for any
    // thread count), handed out to the kernel threads.
    private static void InRanges(int n, Action<int, int> body) =>
        Parallelism.For((n + RangeFloats - 1) / RangeFloats, 1, (r0, r1) =>
        {
            for (int r = r0; r < r1; r++) body(r * RangeFloats, Math.Min(RangeFloats, n - r * RangeFloats));
        });

    // ---- checks ---------------------------------------------------------------------------

    private static int Check(Span<float> p, ReadOnlySpan<float> g)
    {
        if (g.Length != p.Length) throw new ArgumentException($"gradient has {g.Length} elements, parameter has {p.Length}");
        return p.Length;
    }

    private static int CheckAdam(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v, Span<float> vMax, bool amsgrad)
    {
        int n = Check(p, g);
        if (m.Length != n || v.Length != n || (amsgrad && vMax.Length != n))
            throw new ArgumentException($"Adam state buffers have {m.Length}/{v.Length}/{vMax.Length} elements, expected {n}");
        return n;
    }

    private static int CheckRms(Span<float> p, ReadOnlySpan<float> g, Span<float> v, Span<float> gAvg, Span<float> b, bool centered, float momentum)
    {
        int n = Check(p, g);
        if (v.Length != n || (centered && gAvg.Length != n) || (momentum > 0f && b.Length != n))
            throw new ArgumentException($"RMSprop state buffers have {v.Length}/{gAvg.Length}/{b.Length} elements, expected {n}");
        return n;
    }
}
