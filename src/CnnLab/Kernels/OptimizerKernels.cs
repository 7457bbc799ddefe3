using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

// Legend: p parameter, g gradient, m first moment (exp_avg), v second moment (exp_avg_sq),
// b momentum buffer; every span holds one whole parameter buffer of n elements.

/// <summary>
/// The elementwise update loops of SGD, Adam/AdamW and RMSprop over whole parameter buffers, in place.
/// Each follows PyTorch 1.13's <c>_single_tensor_*</c> code path operation by operation, with the
/// rounding of PyTorch's CPU kernels: <c>a.add(b, alpha=s)</c> is one fused multiply-add
/// <c>fma(b, s, a)</c>, <c>a.addcmul(t1, t2, value=s)</c> is <c>fma(s·t1, t2, a)</c>,
/// <c>a.addcdiv(t1, t2, value=s)</c> is <c>a + (s·t1)/t2</c>, and every scalar is rounded to float32
/// before use. The fast paths use Vector512 or Vector256 with the same operations lane by lane
/// (IEEE add, multiply, divide, sqrt and FMA are exactly rounded, so fast and reference agree bit
/// for bit); the <c>*Reference</c> methods are the plain scalar twins and the specification.
/// </summary>
public static class OptimizerKernels
{
    // Buffers from this many floats are updated by all kernel threads, in ranges of RangeFloats.
    private const int ParallelFloats = 1 << 16, RangeFloats = 1 << 14;

    private static bool SplitsAcrossThreads(int n) => n >= ParallelFloats && Parallelism.MaxThreads > 1;

    // Runs body(start, length) over [0, n) in ranges of RangeFloats (a multiple of every vector width,
    // so each element takes the same path, vector or scalar tail, as in one call: the same bits for any
    // thread count), handed out to the kernel threads.
    private static void InRanges(int n, Action<int, int> body) =>
        Parallelism.For((n + RangeFloats - 1) / RangeFloats, 1, (r0, r1) =>
        {
            for (int r = r0; r < r1; r++) body(r * RangeFloats, Math.Min(RangeFloats, n - r * RangeFloats));
        });

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

    // ---- Adam / AdamW ---------------------------------------------------------------------

    /// <summary>
    /// Adam/AdamW step. p = s·p (AdamW's decoupled decay, s = 1 − lr·λ; pass 1 for Adam);
    /// g = ±g (+ λ·p, Adam's coupled L2; pass 0 for AdamW); m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
    /// v̂ = amsgrad ? (vmax = max(vmax, v)) : v; p = p + (−step_size·m) / (√v̂ / √(1−β2^t) + ε).
    /// </summary>
    public static unsafe void Adam(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v, Span<float> vMax,
        float paramScale, float weightDecay, bool maximize, float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2,
        float biasCorrection2Sqrt, float eps, float negStepSize, bool amsgrad)
    {
        int n = CheckAdam(p, g, m, v, vMax, amsgrad);
        if (!SplitsAcrossThreads(n))
        {
            AdamRange(p, g, m, v, vMax, paramScale, weightDecay, maximize, beta1, oneMinusBeta1, beta2, oneMinusBeta2, biasCorrection2Sqrt, eps, negStepSize, amsgrad);
            return;
        }
        fixed (float* pp = p, pg = g, pm = m, pv = v, px = vMax)
        {
            nint ps = (nint)pp, gs = (nint)pg, ms = (nint)pm, vs = (nint)pv, xs = (nint)px;
            InRanges(n, (start, len) => AdamRange(new Span<float>((float*)ps + start, len), new ReadOnlySpan<float>((float*)gs + start, len),
                new Span<float>((float*)ms + start, len), new Span<float>((float*)vs + start, len), amsgrad ? new Span<float>((float*)xs + start, len) : default,
                paramScale, weightDecay, maximize, beta1, oneMinusBeta1, beta2, oneMinusBeta2, biasCorrection2Sqrt, eps, negStepSize, amsgrad));
        }
    }

    private static void AdamRange(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v, Span<float> vMax,
        float paramScale, float weightDecay, bool maximize, float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2,
        float biasCorrection2Sqrt, float eps, float negStepSize, bool amsgrad)
    {
        int n = p.Length;
        int i = 0;
        ref float rp = ref p.GetPinnableReference(), rm = ref m.GetPinnableReference(), rv = ref v.GetPinnableReference();
        ref float rx = ref (amsgrad ? ref vMax.GetPinnableReference() : ref rv);
        ref float rg = ref Unsafe.AsRef(in g.GetPinnableReference());
        if (Vector512.IsHardwareAccelerated)
        {
            var sc = Vector512.Create(paramScale); var wd = Vector512.Create(weightDecay);
            var b1 = Vector512.Create(beta1); var omb1 = Vector512.Create(oneMinusBeta1);
            var b2 = Vector512.Create(beta2); var omb2 = Vector512.Create(oneMinusBeta2);
            var bc2 = Vector512.Create(biasCorrection2Sqrt); var ep = Vector512.Create(eps); var nss = Vector512.Create(negStepSize);
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var gv = Vector512.LoadUnsafe(ref rg, (nuint)i);
                var pv = Vector512.LoadUnsafe(ref rp, (nuint)i) * sc;
                if (maximize) gv = -gv;
                if (weightDecay != 0f) gv = Vector512.FusedMultiplyAdd(pv, wd, gv);
                var mv = Vector512.FusedMultiplyAdd(gv, omb1, Vector512.LoadUnsafe(ref rm, (nuint)i) * b1);
                var vv = Vector512.FusedMultiplyAdd(omb2 * gv, gv, Vector512.LoadUnsafe(ref rv, (nuint)i) * b2);
                mv.StoreUnsafe(ref rm, (nuint)i);
                vv.StoreUnsafe(ref rv, (nuint)i);
                if (amsgrad)
                {
                    vv = Vector512.Max(Vector512.LoadUnsafe(ref rx, (nuint)i), vv);
                    vv.StoreUnsafe(ref rx, (nuint)i);
                }
                var denom = Vector512.Sqrt(vv) / bc2 + ep;
                (pv + nss * mv / denom).StoreUnsafe(ref rp, (nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var sc = Vector256.Create(paramScale); var wd = Vector256.Create(weightDecay);
            var b1 = Vector256.Create(beta1); var omb1 = Vector256.Create(oneMinusBeta1);
            var b2 = Vector256.Create(beta2); var omb2 = Vector256.Create(oneMinusBeta2);
            var bc2 = Vector256.Create(biasCorrection2Sqrt); var ep = Vector256.Create(eps); var nss = Vector256.Create(negStepSize);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var gv = Vector256.LoadUnsafe(ref rg, (nuint)i);
                var pv = Vector256.LoadUnsafe(ref rp, (nuint)i) * sc;
                if (maximize) gv = -gv;
                if (weightDecay != 0f) gv = Vector256.FusedMultiplyAdd(pv, wd, gv);
                var mv = Vector256.FusedMultiplyAdd(gv, omb1, Vector256.LoadUnsafe(ref rm, (nuint)i) * b1);
                var vv = Vector256.FusedMultiplyAdd(omb2 * gv, gv, Vector256.LoadUnsafe(ref rv, (nuint)i) * b2);
                mv.StoreUnsafe(ref rm, (nuint)i);
                vv.StoreUnsafe(ref rv, (nuint)i);
                if (amsgrad)
                {
                    vv = Vector256.Max(Vector256.LoadUnsafe(ref rx, (nuint)i), vv);
                    vv.StoreUnsafe(ref rx, (nuint)i);
                }
                var denom = Vector256.Sqrt(vv) / bc2 + ep;
                (pv + nss * mv / denom).StoreUnsafe(ref rp, (nuint)i);
            }
        }
        AdamScalar(p[i..], g[i..], m[i..], v[i..], amsgrad ? vMax[i..] : default, paramScale, weightDecay, maximize,
            beta1, oneMinusBeta1, beta2, oneMinusBeta2, biasCorrection2Sqrt, eps, negStepSize, amsgrad);
    }

    /// <summary>Scalar twin of <see cref="Adam"/>: PyTorch's <c>_single_tensor_adam</c>/<c>_single_tensor_adamw</c> one element at a time.</summary>
    public static void AdamReference(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v, Span<float> vMax,
        float paramScale, float weightDecay, bool maximize, float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2,
        float biasCorrection2Sqrt, float eps, float negStepSize, bool amsgrad)
    {
        CheckAdam(p, g, m, v, vMax, amsgrad);
        AdamScalar(p, g, m, v, vMax, paramScale, weightDecay, maximize, beta1, oneMinusBeta1, beta2, oneMinusBeta2,
            biasCorrection2Sqrt, eps, negStepSize, amsgrad);
    }

    private static void AdamScalar(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v, Span<float> vMax,
        float paramScale, float weightDecay, bool maximize, float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2,
        float biasCorrection2Sqrt, float eps, float negStepSize, bool amsgrad)
    {
        for (int i = 0; i < p.Length; i++)
        {
            float pi = p[i] * paramScale;                                            // AdamW: param.mul_(1 - lr*wd)
            float gi = maximize ? -g[i] : g[i];
            if (weightDecay != 0f) gi = MathF.FusedMultiplyAdd(pi, weightDecay, gi);  // Adam: grad.add(param, alpha=wd)
            m[i] = MathF.FusedMultiplyAdd(gi, oneMinusBeta1, m[i] * beta1);          // exp_avg.mul_(b1).add_(grad, alpha=1-b1)
            v[i] = MathF.FusedMultiplyAdd(oneMinusBeta2 * gi, gi, v[i] * beta2);     // exp_avg_sq.mul_(b2).addcmul_(grad, grad, value=1-b2)
            float vi = v[i];
            if (amsgrad) vi = vMax[i] = MathF.Max(vMax[i], vi);                      // torch.maximum(max_exp_avg_sq, exp_avg_sq)
            float denom = MathF.Sqrt(vi) / biasCorrection2Sqrt + eps;                // (v.sqrt() / bc2_sqrt).add_(eps)
            p[i] = pi + negStepSize * m[i] / denom;                                  // param.addcdiv_(m, denom, value=-step_size)
        }
    }

    // ---- RMSprop --------------------------------------------------------------------------

    /// <summary>
    /// RMSprop step. g = ±g (+ λ·p); v = α·v + (1−α)·g²; centered: ḡ = α·ḡ + (1−α)·g, a = √(v − ḡ²) + ε,
    /// else a = √v + ε; with momentum: b = μ·b + g/a, p = p − lr·b; else p = p − lr·g/a.
    /// </summary>
    public static unsafe void RmsProp(Span<float> p, ReadOnlySpan<float> g, Span<float> v, Span<float> gAvg, Span<float> b,
        float weightDecay, bool maximize, float alpha, float oneMinusAlpha, float eps, float momentum, float negLr, bool centered)
    {
        int n = CheckRms(p, g, v, gAvg, b, centered, momentum);
        if (!SplitsAcrossThreads(n))
        {
            RmsPropRange(p, g, v, gAvg, b, weightDecay, maximize, alpha, oneMinusAlpha, eps, momentum, negLr, centered);
            return;
        }
        fixed (float* pp = p, pg = g, pv = v, pa = gAvg, pb = b)
        {
            nint ps = (nint)pp, gs = (nint)pg, vs = (nint)pv, avs = (nint)pa, bs = (nint)pb;
            InRanges(n, (start, len) => RmsPropRange(new Span<float>((float*)ps + start, len), new ReadOnlySpan<float>((float*)gs + start, len),
                new Span<float>((float*)vs + start, len), centered ? new Span<float>((float*)avs + start, len) : default,
                momentum > 0f ? new Span<float>((float*)bs + start, len) : default, weightDecay, maximize, alpha, oneMinusAlpha, eps, momentum, negLr, centered));
        }
    }

    private static void RmsPropRange(Span<float> p, ReadOnlySpan<float> g, Span<float> v, Span<float> gAvg, Span<float> b,
        float weightDecay, bool maximize, float alpha, float oneMinusAlpha, float eps, float momentum, float negLr, bool centered)
    {
        int n = p.Length;
        int i = 0;
        ref float rp = ref p.GetPinnableReference(), rv = ref v.GetPinnableReference();
        ref float ra = ref (centered ? ref gAvg.GetPinnableReference() : ref rv);
        ref float rb = ref (momentum > 0f ? ref b.GetPinnableReference() : ref rv);
        ref float rg = ref Unsafe.AsRef(in g.GetPinnableReference());
        if (Vector512.IsHardwareAccelerated)
        {
            var wd = Vector512.Create(weightDecay); var al = Vector512.Create(alpha); var oma = Vector512.Create(oneMinusAlpha);
            var ep = Vector512.Create(eps); var mu = Vector512.Create(momentum); var nlr = Vector512.Create(negLr);
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var gv = Vector512.LoadUnsafe(ref rg, (nuint)i);
                var pv = Vector512.LoadUnsafe(ref rp, (nuint)i);
                if (maximize) gv = -gv;
                if (weightDecay != 0f) gv = Vector512.FusedMultiplyAdd(pv, wd, gv);
                var vv = Vector512.FusedMultiplyAdd(oma * gv, gv, Vector512.LoadUnsafe(ref rv, (nuint)i) * al);
                vv.StoreUnsafe(ref rv, (nuint)i);
                Vector512<float> avg;
                if (centered)
                {
                    var av = Vector512.FusedMultiplyAdd(gv, oma, Vector512.LoadUnsafe(ref ra, (nuint)i) * al);
                    av.StoreUnsafe(ref ra, (nuint)i);
                    avg = Vector512.Sqrt(Vector512.FusedMultiplyAdd(-av, av, vv));
                }
                else avg = Vector512.Sqrt(vv);
                avg += ep;
                if (momentum > 0f)
                {
                    var bv = Vector512.LoadUnsafe(ref rb, (nuint)i) * mu + gv / avg;
                    bv.StoreUnsafe(ref rb, (nuint)i);
                    Vector512.FusedMultiplyAdd(bv, nlr, pv).StoreUnsafe(ref rp, (nuint)i);
                }
                else (pv + nlr * gv / avg).StoreUnsafe(ref rp, (nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var wd = Vector256.Create(weightDecay); var al = Vector256.Create(alpha); var oma = Vector256.Create(oneMinusAlpha);
            var ep = Vector256.Create(eps); var mu = Vector256.Create(momentum); var nlr = Vector256.Create(negLr);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var gv = Vector256.LoadUnsafe(ref rg, (nuint)i);
                var pv = Vector256.LoadUnsafe(ref rp, (nuint)i);
                if (maximize) gv = -gv;
                if (weightDecay != 0f) gv = Vector256.FusedMultiplyAdd(pv, wd, gv);
                var vv = Vector256.FusedMultiplyAdd(oma * gv, gv, Vector256.LoadUnsafe(ref rv, (nuint)i) * al);
                vv.StoreUnsafe(ref rv, (nuint)i);
                Vector256<float> avg;
                if (centered)
                {
                    var av = Vector256.FusedMultiplyAdd(gv, oma, Vector256.LoadUnsafe(ref ra, (nuint)i) * al);
                    av.StoreUnsafe(ref ra, (nuint)i);
                    avg = Vector256.Sqrt(Vector256.FusedMultiplyAdd(-av, av, vv));
                }
                else avg = Vector256.Sqrt(vv);
                avg += ep;
                if (momentum > 0f)
                {
                    var bv = Vector256.LoadUnsafe(ref rb, (nuint)i) * mu + gv / avg;
                    bv.StoreUnsafe(ref rb, (nuint)i);
                    Vector256.FusedMultiplyAdd(bv, nlr, pv).StoreUnsafe(ref rp, (nuint)i);
                }
                else (pv + nlr * gv / avg).StoreUnsafe(ref rp, (nuint)i);
            }
        }
        RmsPropScalar(p[i..], g[i..], v[i..], centered ? gAvg[i..] : default, momentum > 0f ? b[i..] : default,
            weightDecay, maximize, alpha, oneMinusAlpha, eps, momentum, negLr, centered);
    }

    /// <summary>Scalar twin of <see cref="RmsProp"/>: PyTorch's <c>_single_tensor_rmsprop</c> one element at a time.</summary>
    public static void RmsPropReference(Span<float> p, ReadOnlySpan<float> g, Span<float> v, Span<float> gAvg, Span<float> b,
        float weightDecay, bool maximize, float alpha, float oneMinusAlpha, float eps, float momentum, float negLr, bool centered)
    {
        CheckRms(p, g, v, gAvg, b, centered, momentum);
        RmsPropScalar(p, g, v, gAvg, b, weightDecay, maximize, alpha, oneMinusAlpha, eps, momentum, negLr, centered);
    }

    private static void RmsPropScalar(Span<float> p, ReadOnlySpan<float> g, Span<float> v, Span<float> gAvg, Span<float> b,
        float weightDecay, bool maximize, float alpha, float oneMinusAlpha, float eps, float momentum, float negLr, bool centered)
    {
        for (int i = 0; i < p.Length; i++)
        {
            float gi = maximize ? -g[i] : g[i];
            if (weightDecay != 0f) gi = MathF.FusedMultiplyAdd(p[i], weightDecay, gi);   // grad.add(param, alpha=wd)
            v[i] = MathF.FusedMultiplyAdd(oneMinusAlpha * gi, gi, v[i] * alpha);         // square_avg.mul_(a).addcmul_(g, g, value=1-a)
            float avg;
            if (centered)
            {
                gAvg[i] = MathF.FusedMultiplyAdd(gi, oneMinusAlpha, gAvg[i] * alpha);    // grad_avg.mul_(a).add_(g, alpha=1-a)
                avg = MathF.Sqrt(MathF.FusedMultiplyAdd(-gAvg[i], gAvg[i], v[i]));      // square_avg.addcmul(ga, ga, value=-1).sqrt_()
            }
            else avg = MathF.Sqrt(v[i]);
            avg += eps;                                                                  // avg.add_(eps)
            if (momentum > 0f)
            {
                b[i] = b[i] * momentum + gi / avg;                                       // buf.mul_(momentum).addcdiv_(grad, avg)
                p[i] = MathF.FusedMultiplyAdd(b[i], negLr, p[i]);                        // param.add_(buf, alpha=-lr)
            }
            else p[i] = p[i] + negLr * gi / avg;                                         // param.addcdiv_(grad, avg, value=-lr)
        }
    }

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
