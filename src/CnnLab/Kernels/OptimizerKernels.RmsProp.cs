using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

public static partial class OptimizerKernels
{
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
}
