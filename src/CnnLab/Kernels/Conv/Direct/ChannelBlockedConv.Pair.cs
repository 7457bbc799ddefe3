using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

internal sealed unsafe partial class ChannelBlockedConv
{
    /// <summary>
    /// <see cref="ForwardBlock"/> for 32 output channels at once: the two blocks of 16 that follow each other in the packed
    /// weights (R·16 floats apart), eight pixels each (<see cref="EightPixels"/>), or four for a run's last 1 to 4
    /// (<see cref="FourPixels"/>: 8 chains instead of 16 of which at most half are kept; pixels[0 … 3] readable). Each input
    /// value, broadcast once, feeds two FMAs, so a step is 2 + 8 loads per 16 FMAs instead of 9 per 8, and 16 independent
    /// chains hide the FMA latency that 8 barely cover. Every output's chain (zero, then the taps in order, + b, ReLU) is
    /// <see cref="ForwardBlock"/>'s: the same bits. With <see cref="CacheLines.AskAhead"/>, each tap asks for one line of
    /// <paramref name="ahead"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ForwardBlockPair<TPixels, TAhead>(float* src, int* pixels, int* taps, float* weights, int r, float* bias, Rectifier relu,
        float* y, int p, int count, PrefetchStream ahead) where TPixels : struct, IPixels where TAhead : struct, CacheLines.IAhead
    {
        float* asked = ahead.At;
        nint askStep = ahead.Step;
        bool eight = TPixels.Eight;   // a constant in each instantiation: the four-pixel one has no code for pixels 4 … 7
        float* x0 = src + pixels[0], x1 = src + pixels[1], x2 = src + pixels[2], x3 = src + pixels[3];
        float* x4 = eight ? src + pixels[4] : null, x5 = eight ? src + pixels[5] : null;
        float* x6 = eight ? src + pixels[6] : null, x7 = eight ? src + pixels[7] : null;
        nint second = (nint)r * Lanes;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default, b6 = default, b7 = default;
        for (int* tap = taps, end = taps + r; tap < end; tap++, weights += Lanes)
        {
            var wa = Vector512.Load(weights);
            var wb = Vector512.Load(weights + second);
            nint t = *tap;
            if (TAhead.Asks) asked = PrefetchStream.Ask(asked, askStep);
            var v = Vector512.Create(x0[t]);
            a0 = Vector512.FusedMultiplyAdd(wa, v, a0); b0 = Vector512.FusedMultiplyAdd(wb, v, b0);
            v = Vector512.Create(x1[t]);
            a1 = Vector512.FusedMultiplyAdd(wa, v, a1); b1 = Vector512.FusedMultiplyAdd(wb, v, b1);
            v = Vector512.Create(x2[t]);
            a2 = Vector512.FusedMultiplyAdd(wa, v, a2); b2 = Vector512.FusedMultiplyAdd(wb, v, b2);
            v = Vector512.Create(x3[t]);
            a3 = Vector512.FusedMultiplyAdd(wa, v, a3); b3 = Vector512.FusedMultiplyAdd(wb, v, b3);
            if (!eight) continue;
            v = Vector512.Create(x4[t]);
            a4 = Vector512.FusedMultiplyAdd(wa, v, a4); b4 = Vector512.FusedMultiplyAdd(wb, v, b4);
            v = Vector512.Create(x5[t]);
            a5 = Vector512.FusedMultiplyAdd(wa, v, a5); b5 = Vector512.FusedMultiplyAdd(wb, v, b5);
            v = Vector512.Create(x6[t]);
            a6 = Vector512.FusedMultiplyAdd(wa, v, a6); b6 = Vector512.FusedMultiplyAdd(wb, v, b6);
            v = Vector512.Create(x7[t]);
            a7 = Vector512.FusedMultiplyAdd(wa, v, a7); b7 = Vector512.FusedMultiplyAdd(wb, v, b7);
        }
        float* block = stackalloc float[Block * Lanes];
        StoreBlock(a0, a1, a2, a3, a4, a5, a6, a7, bias, relu, y, p, count, block);
        StoreBlock(b0, b1, b2, b3, b4, b5, b6, b7, bias == null ? null : bias + Lanes, relu, y + (long)Lanes * p, p, count, block);
    }

    // The pixels a ForwardBlockPair step takes, as a type, so that each instantiation is compiled for its own count.
    internal interface IPixels
    {
        static abstract bool Eight { get; }
    }

    internal struct EightPixels : IPixels
    {
        public static bool Eight => true;
    }

    internal struct FourPixels : IPixels
    {
        public static bool Eight => false;
    }

    // + bias, the rectifier, then the eight pixels of 16 channels written across into y [16, p] (count of them; a partial block through
    // block, 128 floats). Inlined, so no accumulator lives across a call (a call would spill them all).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreBlock(Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3, Vector512<float> a4,
        Vector512<float> a5, Vector512<float> a6, Vector512<float> a7, float* bias, Rectifier relu, float* y, int p, int count, float* block)
    {
        a0 = Finish(a0, bias, relu); a1 = Finish(a1, bias, relu); a2 = Finish(a2, bias, relu); a3 = Finish(a3, bias, relu);
        a4 = Finish(a4, bias, relu); a5 = Finish(a5, bias, relu); a6 = Finish(a6, bias, relu); a7 = Finish(a7, bias, relu);
        if (count == Block)
        {
            StoreTransposed(a0, a1, a2, a3, a4, a5, a6, a7, y, p);
            return;
        }
        a0.Store(block + 0 * Lanes); a1.Store(block + 1 * Lanes); a2.Store(block + 2 * Lanes); a3.Store(block + 3 * Lanes);
        a4.Store(block + 4 * Lanes); a5.Store(block + 5 * Lanes); a6.Store(block + 6 * Lanes); a7.Store(block + 7 * Lanes);
        for (int o = 0; o < Lanes; o++)
            for (int i = 0; i < count; i++)
                y[(long)o * p + i] = block[i * Lanes + o];
    }

    /// <summary>
    /// <see cref="WeightGradientBlock"/> for 32 output channels: dyT holds the two blocks' [P, 16], the second
    /// <paramref name="second"/> floats after the first, and the second block's sums lie R·16 floats after the first's. Each
    /// chain is <see cref="WeightGradientBlock"/>'s: the same bits, with 2 + 8 loads per 16 FMAs. Each pixel asks for one line
    /// of each of <paramref name="ahead"/>'s regions as <see cref="ForwardBlockPair"/>'s taps do.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WeightGradientBlockPair(float* src, int* pixels, int* taps, float* dyT, int p, nint second, float* sums, int r,
        int count, Upcoming ahead)
    {
        float* aheadX = ahead.X.At, aheadFirst = ahead.First.At, aheadSecond = ahead.Second.At;
        nint xStep = ahead.X.Step, blockStep = ahead.First.Step;
        nint t0 = taps[0], t1 = taps[1], t2 = taps[2], t3 = taps[3], t4 = taps[4], t5 = taps[5], t6 = taps[6], t7 = taps[7];
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default, b6 = default, b7 = default;
        float* d = dyT;
        for (int* pixel = pixels, end = pixels + p; pixel < end; pixel++, d += Lanes)
        {
            var da = Vector512.Load(d);
            var db = Vector512.Load(d + second);
            float* xs = src + *pixel;
            aheadX = PrefetchStream.Ask(aheadX, xStep);
            aheadFirst = PrefetchStream.Ask(aheadFirst, blockStep);
            aheadSecond = PrefetchStream.Ask(aheadSecond, blockStep);
            var v = Vector512.Create(xs[t0]);
            a0 = Vector512.FusedMultiplyAdd(da, v, a0); b0 = Vector512.FusedMultiplyAdd(db, v, b0);
            v = Vector512.Create(xs[t1]);
            a1 = Vector512.FusedMultiplyAdd(da, v, a1); b1 = Vector512.FusedMultiplyAdd(db, v, b1);
            v = Vector512.Create(xs[t2]);
            a2 = Vector512.FusedMultiplyAdd(da, v, a2); b2 = Vector512.FusedMultiplyAdd(db, v, b2);
            v = Vector512.Create(xs[t3]);
            a3 = Vector512.FusedMultiplyAdd(da, v, a3); b3 = Vector512.FusedMultiplyAdd(db, v, b3);
            v = Vector512.Create(xs[t4]);
            a4 = Vector512.FusedMultiplyAdd(da, v, a4); b4 = Vector512.FusedMultiplyAdd(db, v, b4);
            v = Vector512.Create(xs[t5]);
            a5 = Vector512.FusedMultiplyAdd(da, v, a5); b5 = Vector512.FusedMultiplyAdd(db, v, b5);
            v = Vector512.Create(xs[t6]);
            a6 = Vector512.FusedMultiplyAdd(da, v, a6); b6 = Vector512.FusedMultiplyAdd(db, v, b6);
            v = Vector512.Create(xs[t7]);
            a7 = Vector512.FusedMultiplyAdd(da, v, a7); b7 = Vector512.FusedMultiplyAdd(db, v, b7);
        }
        Accumulate(sums, 0, count, a0); Accumulate(sums, 1, count, a1); Accumulate(sums, 2, count, a2); Accumulate(sums, 3, count, a3);
        Accumulate(sums, 4, count, a4); Accumulate(sums, 5, count, a5); Accumulate(sums, 6, count, a6); Accumulate(sums, 7, count, a7);
        float* sums2 = sums + (nint)r * Lanes;
        Accumulate(sums2, 0, count, b0); Accumulate(sums2, 1, count, b1); Accumulate(sums2, 2, count, b2); Accumulate(sums2, 3, count, b3);
        Accumulate(sums2, 4, count, b4); Accumulate(sums2, 5, count, b5); Accumulate(sums2, 6, count, b6); Accumulate(sums2, 7, count, b7);
    }

    /// <summary>
    /// <see cref="WeightGradientBlockPair"/> for a last block of at most 4 taps (R not a multiple of 8: 27 = 3·8 + 3 for 3
    /// input channels of 3x3), which the 8-tap kernel would run as 8, most of them padding: 4 taps of 32 channels, each summed in
    /// two chains, one over the even pixels and one over the odd (16 in flight, as <see cref="WeightGradientBlock"/>), then
    /// added. 4 + 8 loads per 16 FMAs; each pair of pixels asks for two shares of <paramref name="ahead"/>'s regions.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WeightGradientFourTapsPair(float* src, int* pixels, int* taps, float* dyT, int p, nint second, float* sums, int r,
        int count, Upcoming ahead)
    {
        float* aheadX = ahead.X.At, aheadFirst = ahead.First.At, aheadSecond = ahead.Second.At;
        nint xStep = 2 * ahead.X.Step, blockStep = 2 * ahead.First.Step;
        nint t0 = taps[0], t1 = taps[1], t2 = taps[2], t3 = taps[3];
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, e0 = default, e1 = default, e2 = default, e3 = default;
        float* d = dyT;
        int* pixel = pixels;
        for (int* pairsEnd = pixels + (p & ~1); pixel < pairsEnd; pixel += 2, d += 2 * Lanes)
        {
            Vector512<float> da = Vector512.Load(d), db = Vector512.Load(d + second);
            Vector512<float> dc = Vector512.Load(d + Lanes), de = Vector512.Load(d + second + Lanes);
            float* xe = src + pixel[0], xo = src + pixel[1];
            aheadX = PrefetchStream.Ask(aheadX, xStep);
            aheadFirst = PrefetchStream.Ask(aheadFirst, blockStep);
            aheadSecond = PrefetchStream.Ask(aheadSecond, blockStep);
            var v = Vector512.Create(xe[t0]);
            var u = Vector512.Create(xo[t0]);
            a0 = Vector512.FusedMultiplyAdd(da, v, a0); b0 = Vector512.FusedMultiplyAdd(db, v, b0);
            c0 = Vector512.FusedMultiplyAdd(dc, u, c0); e0 = Vector512.FusedMultiplyAdd(de, u, e0);
            v = Vector512.Create(xe[t1]);
            u = Vector512.Create(xo[t1]);
            a1 = Vector512.FusedMultiplyAdd(da, v, a1); b1 = Vector512.FusedMultiplyAdd(db, v, b1);
            c1 = Vector512.FusedMultiplyAdd(dc, u, c1); e1 = Vector512.FusedMultiplyAdd(de, u, e1);
            v = Vector512.Create(xe[t2]);
            u = Vector512.Create(xo[t2]);
            a2 = Vector512.FusedMultiplyAdd(da, v, a2); b2 = Vector512.FusedMultiplyAdd(db, v, b2);
            c2 = Vector512.FusedMultiplyAdd(dc, u, c2); e2 = Vector512.FusedMultiplyAdd(de, u, e2);
            v = Vector512.Create(xe[t3]);
            u = Vector512.Create(xo[t3]);
            a3 = Vector512.FusedMultiplyAdd(da, v, a3); b3 = Vector512.FusedMultiplyAdd(db, v, b3);
            c3 = Vector512.FusedMultiplyAdd(dc, u, c3); e3 = Vector512.FusedMultiplyAdd(de, u, e3);
        }
        if ((p & 1) != 0)
        {
            // The last, even pixel, and its asks.
            PrefetchStream.Ask(aheadX, 0);
            PrefetchStream.Ask(aheadFirst, 0);
            PrefetchStream.Ask(aheadSecond, 0);
            Vector512<float> da = Vector512.Load(d), db = Vector512.Load(d + second);
            float* xe = src + pixel[0];
            var v = Vector512.Create(xe[t0]);
            a0 = Vector512.FusedMultiplyAdd(da, v, a0); b0 = Vector512.FusedMultiplyAdd(db, v, b0);
            v = Vector512.Create(xe[t1]);
            a1 = Vector512.FusedMultiplyAdd(da, v, a1); b1 = Vector512.FusedMultiplyAdd(db, v, b1);
            v = Vector512.Create(xe[t2]);
            a2 = Vector512.FusedMultiplyAdd(da, v, a2); b2 = Vector512.FusedMultiplyAdd(db, v, b2);
            v = Vector512.Create(xe[t3]);
            a3 = Vector512.FusedMultiplyAdd(da, v, a3); b3 = Vector512.FusedMultiplyAdd(db, v, b3);
        }
        Accumulate(sums, 0, count, a0 + c0); Accumulate(sums, 1, count, a1 + c1); Accumulate(sums, 2, count, a2 + c2);
        Accumulate(sums, 3, count, a3 + c3);
        float* sums2 = sums + (nint)r * Lanes;
        Accumulate(sums2, 0, count, b0 + e0); Accumulate(sums2, 1, count, b1 + e1); Accumulate(sums2, 2, count, b2 + e2);
        Accumulate(sums2, 3, count, b3 + e3);
    }

    // Output pixels per step of ForwardRun.
    private const int Run = 16;

    /// <summary>
    /// <see cref="ForwardBlock"/> for 16 output pixels that lie 1 or 2 floats apart in the padded input (stride 1 or 2 along a
    /// row: pixels[15] − pixels[0] = 15 or 30), when at least <paramref name="left"/> ≥ 16 remain; returns false otherwise. One
    /// pointer reaches all 16 inputs of a tap (at fixed offsets), so 16 chains share each weight load: 1 + 16 loads per
    /// 16 FMAs and no pointer spilled. Each output's chain is <see cref="ForwardBlock"/>'s: the same bits. With
    /// <see cref="CacheLines.AskAhead"/> each tap asks for two lines of <paramref name="ahead"/>, as the two blocks of eight would.
    /// </summary>
    internal static bool ForwardRun<TAhead>(float* src, int* pixels, int* taps, float* weights, int r, float* bias, Rectifier relu, float* y,
        int p, int left, PrefetchStream ahead) where TAhead : struct, CacheLines.IAhead
    {
        if (left < Run) return false;
        int step = pixels[1] - pixels[0];
        if (step is not (1 or 2) || pixels[Run - 1] - pixels[0] != (Run - 1) * step) return false;
        if (step == 1) ForwardRun<OneApart, TAhead>(src + pixels[0], taps, weights, r, bias, relu, y, p, ahead);
        else ForwardRun<TwoApart, TAhead>(src + pixels[0], taps, weights, r, bias, relu, y, p, ahead);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardRun<TApart, TAhead>(float* x, int* taps, float* weights, int r, float* bias, Rectifier relu, float* y, int p,
        PrefetchStream ahead) where TApart : struct, IApart where TAhead : struct, CacheLines.IAhead
    {
        int s = TApart.Floats;   // a constant in each instantiation: the 16 loads keep fixed offsets
        float* asked = ahead.At;
        nint askStep = ahead.Step;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default, b6 = default, b7 = default;
        for (int* tap = taps, end = taps + r; tap < end; tap++, weights += Lanes)
        {
            var w = Vector512.Load(weights);
            float* xs = x + *tap;
            if (TAhead.Asks) asked = PrefetchStream.Ask(PrefetchStream.Ask(asked, askStep), askStep);
            a0 = Vector512.FusedMultiplyAdd(w, Vector512.Create(xs[0]), a0);
            a1 = Vector512.FusedMultiplyAdd(w, Vector512.Create(xs[s]), a1);
            a2 = Vector512.FusedMultiplyAdd(w, Vector512.Create(xs[2 * s]), a2);
            a3 = Vector512.FusedMultiplyAdd(w, Vector512.Create(xs[3 * s]), a3);
            a4 = Vector512.FusedMultiplyAdd(w, Vector512.Create(xs[4 * s]), a4);
            a5 = Vector512.FusedMultiplyAdd(w, Vector512.Create(xs[5 * s]), a5);
            a6 = Vector512.FusedMultiplyAdd(w, Vector512.Create(xs[6 * s]), a6);
            a7 = Vector512.FusedMultiplyAdd(w, Vector512.Create(xs[7 * s]), a7);
            b0 = Vector512.FusedMultiplyAdd(w, Vector512.Create(xs[8 * s]), b0);
            b1 = Vector512.FusedMultiplyAdd(w, Vector512.Create(xs[9 * s]), b1);
            b2 = Vector512.FusedMultiplyAdd(w, Vector512.Create(xs[10 * s]), b2);
            b3 = Vector512.FusedMultiplyAdd(w, Vector512.Create(xs[11 * s]), b3);
            b4 = Vector512.FusedMultiplyAdd(w, Vector512.Create(xs[12 * s]), b4);
            b5 = Vector512.FusedMultiplyAdd(w, Vector512.Create(xs[13 * s]), b5);
            b6 = Vector512.FusedMultiplyAdd(w, Vector512.Create(xs[14 * s]), b6);
            b7 = Vector512.FusedMultiplyAdd(w, Vector512.Create(xs[15 * s]), b7);
        }
        StoreBlock(a0, a1, a2, a3, a4, a5, a6, a7, bias, relu, y, p, Block, null);
        StoreBlock(b0, b1, b2, b3, b4, b5, b6, b7, bias, relu, y + Block, p, Block, null);
    }

    // How far apart a run's inputs lie, as a type, so that each instantiation is compiled with its offsets.
    internal interface IApart
    {
        static abstract int Floats { get; }
    }

    internal struct OneApart : IApart
    {
        public static int Floats => 1;
    }

    internal struct TwoApart : IApart
    {
        public static int Floats => 2;
    }
}
