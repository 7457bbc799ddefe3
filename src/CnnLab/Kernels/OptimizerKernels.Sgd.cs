using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

public static partial class OptimizerKernels
{
    // ---- SGD ------------------------------------------------------------------------------

    /// <summary>
    /// SGD step. d = ±g (+ λ·p); with momentum: b = g on the first step (<paramref name="initBuffer"/>),
    /// else b = μ·b + (1−τ)·d; d = nesterov ? d + μ·b : b; then p = p − lr·d.
    /// </summary>
    public static unsafe void Sgd(Span<float> p, ReadOnlySpan<float> g, Span<float> b, float weightDecay, float momentum,
        float oneMinusDampening, float negLr, bool nesterov, bool maximize, bool initBuffer)
    {
        int n = Check(p, g);
        bool hasMomentum = momentum != 0f;
        if (hasMomentum && b.Length != n) throw new ArgumentException($"momentum buffer has {b.Length} elements, expected {n}");
        if (!SplitsAcrossThreads(n))
        {
            SgdRange(p, g, b, weightDecay, momentum, oneMinusDampening, negLr, nesterov, maximize, initBuffer);
            return;
        }
        fixed (float* pp = p, pg = g, pb = b)
        {
            nint ps = (nint)pp, gs = (nint)pg, bs = (nint)pb;
            InRanges(n, (start, len) => SgdRange(new Span<float>((float*)ps + start, len), new ReadOnlySpan<float>((float*)gs + start, len),
                hasMomentum ? new Span<float>((float*)bs + start, len) : default, weightDecay, momentum, oneMinusDampening, negLr, nesterov, maximize, initBuffer));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SgdRange(Span<float> p, ReadOnlySpan<float> g, Span<float> b, float weightDecay, float momentum,
        float oneMinusDampening, float negLr, bool nesterov, bool maximize, bool initBuffer)
    {
        int n = p.Length;
        bool hasMomentum = momentum != 0f;
        int i = 0;
        ref float rp = ref p.GetPinnableReference(), rb = ref (hasMomentum ? ref b.GetPinnableReference() : ref rp);
        ref float rg = ref Unsafe.AsRef(in g.GetPinnableReference());
        if (Vector512.IsHardwareAccelerated)
        {
            var wd = Vector512.Create(weightDecay); var mu = Vector512.Create(momentum);
            var omd = Vector512.Create(oneMinusDampening); var nlr = Vector512.Create(negLr);
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var d = Vector512.LoadUnsafe(ref rg, (nuint)i);
                var pv = Vector512.LoadUnsafe(ref rp, (nuint)i);
                if (maximize) d = -d;
                if (weightDecay != 0f) d = Vector512.FusedMultiplyAdd(pv, wd, d);
                if (hasMomentum)
                {
                    var bv = initBuffer ? d : Vector512.FusedMultiplyAdd(d, omd, Vector512.LoadUnsafe(ref rb, (nuint)i) * mu);
                    bv.StoreUnsafe(ref rb, (nuint)i);
                    d = nesterov ? Vector512.FusedMultiplyAdd(bv, mu, d) : bv;
                }
                Vector512.FusedMultiplyAdd(d, nlr, pv).StoreUnsafe(ref rp, (nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var wd = Vector256.Create(weightDecay); var mu = Vector256.Create(momentum);
            var omd = Vector256.Create(oneMinusDampening); var nlr = Vector256.Create(negLr);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var d = Vector256.LoadUnsafe(ref rg, (nuint)i);
                var pv = Vector256.LoadUnsafe(ref rp, (nuint)i);
                if (maximize) d = -d;
                if (weightDecay != 0f) d = Vector256.FusedMultiplyAdd(pv, wd, d);
                if (hasMomentum)
                {
                    var bv = initBuffer ? d : Vector256.FusedMultiplyAdd(d, omd, Vector256.LoadUnsafe(ref rb, (nuint)i) * mu);
                    bv.StoreUnsafe(ref rb, (nuint)i);
                    d = nesterov ? Vector256.FusedMultiplyAdd(bv, mu, d) : bv;
                }
                Vector256.FusedMultiplyAdd(d, nlr, pv).StoreUnsafe(ref rp, (nuint)i);
            }
        }
        SgdScalar(p[i..], g[i..], hasMomentum ? b[i..] : default, weightDecay, momentum, oneMinusDampening, negLr, nesterov, maximize, initBuffer);
    }

    /// <summary>Scalar twin of <see cref="Sgd"/>: PyTorch's <c>_single_tensor_sgd</c> one element at a time.</summary>
    public static void SgdReference(Span<float> p, ReadOnlySpan<float> g, Span<float> b, float weightDecay, float momentum,
        float oneMinusDampening, float negLr, bool nesterov, bool maximize, bool initBuffer)
    {
        int n = Check(p, g);
        if (momentum != 0f && b.Length != n) throw new ArgumentException($"momentum buffer has {b.Length} elements, expected {n}");
        SgdScalar(p, g, b, weightDecay, momentum, oneMinusDampening, negLr, nesterov, maximize, initBuffer);
    }

    private static void SgdScalar(Span<float> p, ReadOnlySpan<float> g, Span<float> b, float weightDecay, float momentum,
        float oneMinusDampening, float negLr, bool nesterov, bool maximize, bool initBuffer)
    {
        for (int i = 0; i < p.Length; i++)
        {
            float d = maximize ? -g[i] : g[i];                                    // d_p = -grad if maximize
            if (weightDecay != 0f) d = MathF.FusedMultiplyAdd(p[i], weightDecay, d); // d_p.add(param, alpha=wd)
            if (momentum != 0f)
            {
                // buf = clone(d_p) on the first step, else buf.mul_(momentum).add_(d_p, alpha=1-dampening)
                b[i] = initBuffer ? d : MathF.FusedMultiplyAdd(d, oneMinusDampening, b[i] * momentum);
                d = nesterov ? MathF.FusedMultiplyAdd(b[i], momentum, d) : b[i];    // d_p.add(buf, alpha=momentum)
            }
            p[i] = MathF.FusedMultiplyAdd(d, negLr, p[i]);                        // param.add_(d_p, alpha=-lr)
        }
    }
}
