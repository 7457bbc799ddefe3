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
    public static void Sgd(Span<float> p, ReadOnlySpan<float> g, Span<float> b, float weightDecay, float momentum,
        float oneMinusDampening, float negLr, bool nesterov, bool maximize, bool initBuffer) =>
        SgdWithWidth(Vector512.IsHardwareAccelerated, p, g, b, weightDecay, momentum, oneMinusDampening, negLr, nesterov, maximize,
            initBuffer);

    /// <summary><see cref="Sgd"/> by the 512-bit loop when <paramref name="use512"/>, else by the 256-bit one where it runs.</summary>
    internal static unsafe void SgdWithWidth(bool use512, Span<float> p, ReadOnlySpan<float> g, Span<float> b, float weightDecay,
        float momentum, float oneMinusDampening, float negLr, bool nesterov, bool maximize, bool initBuffer)
    {
        int n = Check(p, g);
        bool hasMomentum = momentum != 0f;
        if (hasMomentum && b.Length != n) throw new ArgumentException($"momentum buffer has {b.Length} elements, expected {n}");
        if (!SplitsAcrossThreads(n))
        {
            SgdRange(use512, p, g, b, weightDecay, momentum, oneMinusDampening, negLr, nesterov, maximize, initBuffer);
            return;
        }
        fixed (float* pp = p, pg = g, pb = b)
        {
            nint ps = (nint)pp, gs = (nint)pg, bs = (nint)pb;
            InRanges(n, (start, len) => SgdRange(use512, new Span<float>((float*)ps + start, len),
                new ReadOnlySpan<float>((float*)gs + start, len),
                hasMomentum ? new Span<float>((float*)bs + start, len) : default,
                weightDecay, momentum, oneMinusDampening, negLr, nesterov, maximize, initBuffer));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SgdRange(bool use512, Span<float> p, ReadOnlySpan<float> g, Span<float> b, float weightDecay, float momentum,
        float oneMinusDampening, float negLr, bool nesterov, bool maximize, bool initBuffer)
    {
        int n = p.Length;
        bool hasMomentum = momentum != 0f;
        int i = 0;
        ref float rp = ref p.GetPinnableReference(), rb = ref (hasMomentum ? ref b.GetPinnableReference() : ref rp);
        ref float rg = ref Unsafe.AsRef(in g.GetPinnableReference());
        if (use512)
            i = SgdVectors<Vector512<float>, Lanes512>(ref rp, ref rg, ref rb, n, weightDecay, momentum, oneMinusDampening, negLr,
                nesterov, maximize, initBuffer, hasMomentum);
        else if (Vector256.IsHardwareAccelerated)
            i = SgdVectors<Vector256<float>, Lanes256>(ref rp, ref rg, ref rb, n, weightDecay, momentum, oneMinusDampening, negLr,
                nesterov, maximize, initBuffer, hasMomentum);
        SgdScalar(p[i..], g[i..], hasMomentum ? b[i..] : default, weightDecay, momentum, oneMinusDampening, negLr, nesterov, maximize, initBuffer);
    }

    // SgdScalar's operations on whole vectors of L's width while a vector fits; returns how many elements it did.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int SgdVectors<TV, L>(ref float rp, ref float rg, ref float rb, int n, float weightDecay, float momentum,
        float oneMinusDampening, float negLr, bool nesterov, bool maximize, bool initBuffer, bool hasMomentum)
        where TV : struct where L : IOptimizerLanes<TV>
    {
        var wd = L.Create(weightDecay); var mu = L.Create(momentum);
        var omd = L.Create(oneMinusDampening); var nlr = L.Create(negLr);
        int i = 0;
        for (; i <= n - L.Count; i += L.Count)
        {
            var d = L.Load(ref rg, i);
            var pv = L.Load(ref rp, i);
            if (maximize) d = L.Negate(d);
            if (weightDecay != 0f) d = L.Fma(pv, wd, d);
            if (hasMomentum)
            {
                var bv = initBuffer ? d : L.Fma(d, omd, L.Multiply(L.Load(ref rb, i), mu));
                L.Store(bv, ref rb, i);
                d = nesterov ? L.Fma(bv, mu, d) : bv;
            }
            L.Store(L.Fma(d, nlr, pv), ref rp, i);
        }
        return i;
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
