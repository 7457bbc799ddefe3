using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

public static partial class OptimizerKernels
{
    // ---- Adam / AdamW ---------------------------------------------------------------------

    /// <summary>
    /// Adam/AdamW step. p = s·p (AdamW's decoupled decay, s = 1 − lr·λ; pass 1 for Adam);
    /// g = ±g (+ λ·p, Adam's coupled L2; pass 0 for AdamW); m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
    /// v̂ = amsgrad ? (vmax = max(vmax, v)) : v; p = p + (−step_size·m) / (√v̂ / √(1−β2^t) + ε).
    /// </summary>
    public static void Adam(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v, Span<float> vMax,
        float paramScale, float weightDecay, bool maximize, float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2,
        float biasCorrection2Sqrt, float eps, float negStepSize, bool amsgrad) =>
        AdamWithWidth(Vector512.IsHardwareAccelerated, p, g, m, v, vMax, paramScale, weightDecay, maximize, beta1, oneMinusBeta1,
            beta2, oneMinusBeta2, biasCorrection2Sqrt, eps, negStepSize, amsgrad);

    /// <summary><see cref="Adam"/> by the 512-bit loop when <paramref name="use512"/>, else by the 256-bit one where it runs.</summary>
    internal static unsafe void AdamWithWidth(bool use512, Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v,
        Span<float> vMax, float paramScale, float weightDecay, bool maximize, float beta1, float oneMinusBeta1, float beta2,
        float oneMinusBeta2, float biasCorrection2Sqrt, float eps, float negStepSize, bool amsgrad)
    {
        int n = CheckAdam(p, g, m, v, vMax, amsgrad);
        if (!SplitsAcrossThreads(n))
        {
            AdamRange(use512, p, g, m, v, vMax, paramScale, weightDecay, maximize, beta1, oneMinusBeta1, beta2, oneMinusBeta2,
                biasCorrection2Sqrt, eps, negStepSize, amsgrad);
            return;
        }
        fixed (float* pp = p, pg = g, pm = m, pv = v, px = vMax)
        {
            nint ps = (nint)pp, gs = (nint)pg, ms = (nint)pm, vs = (nint)pv, xs = (nint)px;
            InRanges(n, (start, len) => AdamRange(use512, new Span<float>((float*)ps + start, len),
                new ReadOnlySpan<float>((float*)gs + start, len),
                new Span<float>((float*)ms + start, len), new Span<float>((float*)vs + start, len),
                amsgrad ? new Span<float>((float*)xs + start, len) : default,
                paramScale, weightDecay, maximize, beta1, oneMinusBeta1, beta2, oneMinusBeta2, biasCorrection2Sqrt, eps, negStepSize, amsgrad));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AdamRange(bool use512, Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v, Span<float> vMax,
        float paramScale, float weightDecay, bool maximize, float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2,
        float biasCorrection2Sqrt, float eps, float negStepSize, bool amsgrad)
    {
        int n = p.Length;
        int i = 0;
        ref float rp = ref p.GetPinnableReference(), rm = ref m.GetPinnableReference(), rv = ref v.GetPinnableReference();
        ref float rx = ref (amsgrad ? ref vMax.GetPinnableReference() : ref rv);
        ref float rg = ref Unsafe.AsRef(in g.GetPinnableReference());
        if (use512)
            i = AdamVectors<Vector512<float>, Lanes512>(ref rp, ref rg, ref rm, ref rv, ref rx, n, paramScale, weightDecay, maximize,
                beta1, oneMinusBeta1, beta2, oneMinusBeta2, biasCorrection2Sqrt, eps, negStepSize, amsgrad);
        else if (Vector256.IsHardwareAccelerated)
            i = AdamVectors<Vector256<float>, Lanes256>(ref rp, ref rg, ref rm, ref rv, ref rx, n, paramScale, weightDecay, maximize,
                beta1, oneMinusBeta1, beta2, oneMinusBeta2, biasCorrection2Sqrt, eps, negStepSize, amsgrad);
        AdamScalar(p[i..], g[i..], m[i..], v[i..], amsgrad ? vMax[i..] : default, paramScale, weightDecay, maximize,
            beta1, oneMinusBeta1, beta2, oneMinusBeta2, biasCorrection2Sqrt, eps, negStepSize, amsgrad);
    }

    // AdamScalar's operations on whole vectors of L's width while a vector fits; returns how many elements it did.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int AdamVectors<TV, L>(ref float rp, ref float rg, ref float rm, ref float rv, ref float rx, int n,
        float paramScale, float weightDecay, bool maximize, float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2,
        float biasCorrection2Sqrt, float eps, float negStepSize, bool amsgrad)
        where TV : struct where L : IOptimizerLanes<TV>
    {
        var sc = L.Create(paramScale); var wd = L.Create(weightDecay);
        var b1 = L.Create(beta1); var omb1 = L.Create(oneMinusBeta1);
        var b2 = L.Create(beta2); var omb2 = L.Create(oneMinusBeta2);
        var bc2 = L.Create(biasCorrection2Sqrt); var ep = L.Create(eps); var nss = L.Create(negStepSize);
        int i = 0;
        for (; i <= n - L.Count; i += L.Count)
        {
            var gv = L.Load(ref rg, i);
            var pv = L.Multiply(L.Load(ref rp, i), sc);
            if (maximize) gv = L.Negate(gv);
            if (weightDecay != 0f) gv = L.Fma(pv, wd, gv);
            var mv = L.Fma(gv, omb1, L.Multiply(L.Load(ref rm, i), b1));
            var vv = L.Fma(L.Multiply(omb2, gv), gv, L.Multiply(L.Load(ref rv, i), b2));
            L.Store(mv, ref rm, i);
            L.Store(vv, ref rv, i);
            if (amsgrad)
            {
                vv = L.Max(L.Load(ref rx, i), vv);
                L.Store(vv, ref rx, i);
            }
            var denom = L.Add(L.Divide(L.Sqrt(vv), bc2), ep);
            L.Store(L.Add(pv, L.Divide(L.Multiply(nss, mv), denom)), ref rp, i);
        }
        return i;
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
}
