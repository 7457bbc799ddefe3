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
    public static void RmsProp(Span<float> p, ReadOnlySpan<float> g, Span<float> v, Span<float> gAvg, Span<float> b,
        float weightDecay, bool maximize, float alpha, float oneMinusAlpha, float eps, float momentum, float negLr, bool centered) =>
        RmsPropWithWidth(Vector512.IsHardwareAccelerated, p, g, v, gAvg, b, weightDecay, maximize, alpha, oneMinusAlpha, eps, momentum,
            negLr, centered);

    /// <summary><see cref="RmsProp"/> by the 512-bit loop when <paramref name="use512"/>, else by the 256-bit one where it runs.</summary>
    internal static unsafe void RmsPropWithWidth(bool use512, Span<float> p, ReadOnlySpan<float> g, Span<float> v, Span<float> gAvg,
        Span<float> b, float weightDecay, bool maximize, float alpha, float oneMinusAlpha, float eps, float momentum, float negLr,
        bool centered)
    {
        int n = CheckRms(p, g, v, gAvg, b, centered, momentum);
        if (!SplitsAcrossThreads(n))
        {
            RmsPropRange(use512, p, g, v, gAvg, b, weightDecay, maximize, alpha, oneMinusAlpha, eps, momentum, negLr, centered);
            return;
        }
        fixed (float* pp = p, pg = g, pv = v, pa = gAvg, pb = b)
        {
            nint ps = (nint)pp, gs = (nint)pg, vs = (nint)pv, avs = (nint)pa, bs = (nint)pb;
            InRanges(n, (start, len) => RmsPropRange(use512, new Span<float>((float*)ps + start, len),
                new ReadOnlySpan<float>((float*)gs + start, len),
                new Span<float>((float*)vs + start, len), centered ? new Span<float>((float*)avs + start, len) : default,
                momentum > 0f ? new Span<float>((float*)bs + start, len) : default,
                weightDecay, maximize, alpha, oneMinusAlpha, eps, momentum, negLr, centered));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RmsPropRange(bool use512, Span<float> p, ReadOnlySpan<float> g, Span<float> v, Span<float> gAvg, Span<float> b,
        float weightDecay, bool maximize, float alpha, float oneMinusAlpha, float eps, float momentum, float negLr, bool centered)
    {
        int n = p.Length;
        int i = 0;
        ref float rp = ref p.GetPinnableReference(), rv = ref v.GetPinnableReference();
        ref float ra = ref (centered ? ref gAvg.GetPinnableReference() : ref rv);
        ref float rb = ref (momentum > 0f ? ref b.GetPinnableReference() : ref rv);
        ref float rg = ref Unsafe.AsRef(in g.GetPinnableReference());
        if (use512)
            i = RmsPropVectors<Vector512<float>, Lanes512>(ref rp, ref rg, ref rv, ref ra, ref rb, n, weightDecay, maximize,
                alpha, oneMinusAlpha, eps, momentum, negLr, centered);
        else if (Vector256.IsHardwareAccelerated)
            i = RmsPropVectors<Vector256<float>, Lanes256>(ref rp, ref rg, ref rv, ref ra, ref rb, n, weightDecay, maximize,
                alpha, oneMinusAlpha, eps, momentum, negLr, centered);
        RmsPropScalar(p[i..], g[i..], v[i..], centered ? gAvg[i..] : default, momentum > 0f ? b[i..] : default,
            weightDecay, maximize, alpha, oneMinusAlpha, eps, momentum, negLr, centered);
    }

    // RmsPropScalar's operations on whole vectors of L's width while a vector fits; returns how many elements it did.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int RmsPropVectors<TV, L>(ref float rp, ref float rg, ref float rv, ref float ra, ref float rb, int n,
        float weightDecay, bool maximize, float alpha, float oneMinusAlpha, float eps, float momentum, float negLr, bool centered)
        where TV : struct where L : IOptimizerLanes<TV>
    {
        var wd = L.Create(weightDecay); var al = L.Create(alpha); var oma = L.Create(oneMinusAlpha);
        var ep = L.Create(eps); var mu = L.Create(momentum); var nlr = L.Create(negLr);
        int i = 0;
        for (; i <= n - L.Count; i += L.Count)
        {
            var gv = L.Load(ref rg, i);
            var pv = L.Load(ref rp, i);
            if (maximize) gv = L.Negate(gv);
            if (weightDecay != 0f) gv = L.Fma(pv, wd, gv);
            var vv = L.Fma(L.Multiply(oma, gv), gv, L.Multiply(L.Load(ref rv, i), al));
            L.Store(vv, ref rv, i);
            TV avg;
            if (centered)
            {
                var av = L.Fma(gv, oma, L.Multiply(L.Load(ref ra, i), al));
                L.Store(av, ref ra, i);
                avg = L.Sqrt(L.Fma(L.Negate(av), av, vv));
            }
            else avg = L.Sqrt(vv);
            avg = L.Add(avg, ep);
            if (momentum > 0f)
            {
                var bv = L.Add(L.Multiply(L.Load(ref rb, i), mu), L.Divide(gv, avg));
                L.Store(bv, ref rb, i);
                L.Store(L.Fma(bv, nlr, pv), ref rp, i);
            }
            else L.Store(L.Add(pv, L.Divide(L.Multiply(nlr, gv), avg)), ref rp, i);
        }
        return i;
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
