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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
}
