using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

// Legend as in ChannelBlockedConv.cs; B the images of one weight-gradient run (RunImages).

internal sealed unsafe partial class ChannelBlockedConv
{
    // A run of several images' pixels is cut short at this many (a 7x7 plane: 8 images, 392 pixels) and at this many floats
    // of padded inputs or of dY turned round (256 KB each, within L2).
    private const int RunPixelsMax = 512, RunFloatsMax = 1 << 16;
    private const int RunImagesMax = 8;

    /// <summary>
    /// Images whose weight gradient one run of the kernels takes (<see cref="CollectWeightGradient"/>, then
    /// <see cref="AddWeightGradientRun"/>): on small planes several, so that each block of taps sums B·P pixels before it adds its
    /// sums to the partial, instead of P (25 pairs of pixels on 7x7). One group only; 1 where the plane alone fills a run.
    /// </summary>
    public readonly int RunImages;

    // pixel(i mod P) + (i / P)·(an image's padded input, or its input where it is read in place), for i < B·P (B > 1).
    private readonly int[] _runPixels;

    /// <summary>Floats of padded inputs a run keeps (<see cref="PaddedLength"/> per image; 0 without padding).</summary>
    public int RunPaddedLength => RunImages * PaddedLength + (InputLanes ? Lanes : 0);

    /// <summary>Floats of scratch for dY turned round: P·32 for one image at a time, else OCg·B·P.</summary>
    public int TransposedLength => RunImages == 1 ? 2 * Lanes * _g.ColCols : _blocked * RunImages * _g.ColCols;

    private static int RunImagesOf(in Conv2dGeometry group, int groups, int paddedLength)
    {
        if (groups != 1) return 1;
        int images = 1, p = group.ColCols;
        while (images < RunImagesMax && (images + 1) * p <= RunPixelsMax && (long)(images + 1) * paddedLength <= RunFloatsMax
               && (long)(images + 1) * p * Blocked(group.OC) <= RunFloatsMax)
            images++;
        return images;
    }

    private int[] RunPixels()
    {
        if (RunImages == 1) return [];
        int p = _g.ColCols;
        long image = PaddedLength > 0 ? PaddedLength : (long)_g.C * _g.H * _g.W;
        var pixels = new int[RunImages * p];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = checked((int)(_pixels[i % p] + i / p * image));
        return pixels;
    }

    /// <summary>
    /// partial += dWᵀ of one image and group by blocks of 16 output channels ([(o / 16)·R + k][o % 16], OCg·R floats;
    /// the group's share of <see cref="AddToWeights"/>'s partial starts at group·OCg·R), from x and dy of that group.
    /// <paramref name="dyT"/>: scratch of P·32 floats; <paramref name="padded"/> as in <see cref="ForwardImage"/>.
    /// <see cref="AddToWeights"/> turns the sum into dw. <paramref name="next"/>: what the caller reads next, asked for into L2 a
    /// line at a time during the first step of 16 or 32 channels.
    /// </summary>
    public void AddWeightGradient(float* x, float* dy, float* partial, float* dyT, float* padded, Upcoming next = default)
    {
        float* src = Padded(x, padded);
        int p = _g.ColCols;
        fixed (int* pixels = _pixels, taps = _taps)
            for (int o0 = 0; o0 < _blocked;)
            {
                bool pair = StepWidth(o0, _blocked) == 2 * Lanes;
                TransposeBlock(dy, o0, dyT);
                if (pair) TransposeBlock(dy, o0 + Lanes, dyT + (long)p * Lanes);
                o0 = AddStep(src, pixels, taps, dyT, p, (long)p * Lanes, partial, o0, o0 == 0 ? next : default);
            }
    }

    /// <summary>
    /// Image <paramref name="slot"/> (&lt; <see cref="RunImages"/>) of a run: its input padded into the slot's share of
    /// <paramref name="padded"/> (<see cref="RunPaddedLength"/> floats, border zeroed once), its dY [OC, P] turned round into
    /// each block of 16 channels' [B·P, 16] (block k at k·B·P·16 floats of <paramref name="dyT"/>, <see cref="TransposedLength"/>).
    /// </summary>
    public void CollectWeightGradient(int slot, float* x, float* dy, float* dyT, float* padded)
    {
        if (InputLanes)
        {
            CollectInputLanes(slot, x, dy, dyT, padded);
            return;
        }
        int p = _g.ColCols;
        long block = (long)RunImages * p * Lanes;
        if (PaddedLength > 0) RowCopy.IntoPadded(x, _g.C, _g.H, _g.W, _g.PH, _g.PW, padded + (long)slot * PaddedLength);
        for (int o0 = 0; o0 < _blocked; o0 += Lanes) TransposeBlock(dy, o0, dyT + o0 / Lanes * block + (long)slot * p * Lanes);
    }

    /// <summary>
    /// partial += dWᵀ (as <see cref="AddWeightGradient"/>) of the first <paramref name="images"/> images collected by
    /// <see cref="CollectWeightGradient"/>, each tap summed over their pixels in order; <paramref name="x"/> is the first one's
    /// input (read in place where there is no padding: the images follow each other in x). <paramref name="next"/>: the first
    /// of the <paramref name="nextImages"/> images the caller collects next, asked for as <see cref="AddWeightGradient"/> does.
    /// </summary>
    public void AddWeightGradientRun(int images, float* x, float* partial, float* dyT, float* padded, Upcoming next = default,
        int nextImages = 1)
    {
        if (images < 1 || images > RunImages) throw new ArgumentOutOfRangeException(nameof(images), $"a run takes 1 to {RunImages} images");
        if (InputLanes)
        {
            AddInputLanesRun(images, partial, dyT, padded);
            return;
        }
        float* src = PaddedLength == 0 ? x : padded;
        int p = images * _g.ColCols;
        long block = (long)RunImages * _g.ColCols * Lanes;
        fixed (int* pixels = _runPixels, taps = _taps)
            for (int o0 = 0; o0 < _blocked;)
                o0 = AddStep(src, pixels, taps, dyT + o0 / Lanes * block, p, block, partial, o0, o0 == 0 ? next : default, nextImages);
    }

    // The blocks of taps of one step of 16 or 32 channels from o0 over p pixels (dY's second block of 16 `second` floats after
    // the first); returns the next step's first channel. `next` (nextImages images) is asked for over the step.
    private int AddStep(float* src, int* pixels, int* taps, float* dyT, int p, long second, float* partial, int o0, Upcoming next,
        int nextImages = 1)
    {
        int r = _g.ColRows;
        bool pair = StepWidth(o0, _blocked) == 2 * Lanes;
        float* sums = partial + (long)o0 * r;
        var ahead = next.Spread(_g, (long)RoundUp(r) / Block * p, nextImages);
        for (int k0 = 0; k0 < r; k0 += Block, ahead = ahead.After(p))
        {
            int count = Math.Min(Block, r - k0);
            if (pair && count <= 4)
                WeightGradientFourTapsPair(src, pixels, taps + k0, dyT, p, (nint)second, sums + (long)k0 * Lanes, r, count, ahead);
            else if (pair) WeightGradientBlockPair(src, pixels, taps + k0, dyT, p, (nint)second, sums + (long)k0 * Lanes, r, count, ahead);
            else WeightGradientBlock(src, pixels, taps + k0, dyT, p, sums + (long)k0 * Lanes, count, ahead);
        }
        return o0 + (pair ? 2 * Lanes : Lanes);
    }

    // Eight taps of 16 channels, each summed in two chains, one over the even pixels and one over the odd (the sixteen chains
    // in flight cover the FMA's latency, which eight left exposed: 40-50 % of the peak on 16 outputs a group), then the two
    // added and the sum added to the partial. The order is fixed by the pixels, so the same bits for any thread count. Each
    // pair of pixels asks for two shares of `ahead`'s regions, as WeightGradientBlockPair's pixels ask for one.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WeightGradientBlock(float* src, int* pixels, int* taps, float* dyT, int p, float* sums, int count, Upcoming ahead)
    {
        float* aheadX = ahead.X.At, aheadFirst = ahead.First.At, aheadSecond = ahead.Second.At;
        nint xStep = 2 * ahead.X.Step, blockStep = 2 * ahead.First.Step;   // a step of two pixels asks for both pixels' share
        // Native-sized offsets: an int would be sign-extended again at every use.
        nint t0 = taps[0], t1 = taps[1], t2 = taps[2], t3 = taps[3], t4 = taps[4], t5 = taps[5], t6 = taps[6], t7 = taps[7];
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default, b6 = default, b7 = default;
        float* d = dyT;
        int* pixel = pixels;
        for (int* pairsEnd = pixels + (p & ~1); pixel < pairsEnd; pixel += 2, d += 2 * Lanes)
        {
            var de = Vector512.Load(d);
            var dd = Vector512.Load(d + Lanes);
            float* xe = src + pixel[0], xo = src + pixel[1];
            aheadX = PrefetchStream.Ask(aheadX, xStep);
            aheadFirst = PrefetchStream.Ask(aheadFirst, blockStep);
            aheadSecond = PrefetchStream.Ask(aheadSecond, blockStep);
            a0 = Vector512.FusedMultiplyAdd(de, Vector512.Create(xe[t0]), a0); b0 = Vector512.FusedMultiplyAdd(dd, Vector512.Create(xo[t0]), b0);
            a1 = Vector512.FusedMultiplyAdd(de, Vector512.Create(xe[t1]), a1); b1 = Vector512.FusedMultiplyAdd(dd, Vector512.Create(xo[t1]), b1);
            a2 = Vector512.FusedMultiplyAdd(de, Vector512.Create(xe[t2]), a2); b2 = Vector512.FusedMultiplyAdd(dd, Vector512.Create(xo[t2]), b2);
            a3 = Vector512.FusedMultiplyAdd(de, Vector512.Create(xe[t3]), a3); b3 = Vector512.FusedMultiplyAdd(dd, Vector512.Create(xo[t3]), b3);
            a4 = Vector512.FusedMultiplyAdd(de, Vector512.Create(xe[t4]), a4); b4 = Vector512.FusedMultiplyAdd(dd, Vector512.Create(xo[t4]), b4);
            a5 = Vector512.FusedMultiplyAdd(de, Vector512.Create(xe[t5]), a5); b5 = Vector512.FusedMultiplyAdd(dd, Vector512.Create(xo[t5]), b5);
            a6 = Vector512.FusedMultiplyAdd(de, Vector512.Create(xe[t6]), a6); b6 = Vector512.FusedMultiplyAdd(dd, Vector512.Create(xo[t6]), b6);
            a7 = Vector512.FusedMultiplyAdd(de, Vector512.Create(xe[t7]), a7); b7 = Vector512.FusedMultiplyAdd(dd, Vector512.Create(xo[t7]), b7);
        }
        if ((p & 1) != 0)
        {
            // The last, even pixel, and its asks.
            PrefetchStream.Ask(aheadX, 0);
            PrefetchStream.Ask(aheadFirst, 0);
            PrefetchStream.Ask(aheadSecond, 0);
            var de = Vector512.Load(d);
            float* xe = src + pixel[0];
            a0 = Vector512.FusedMultiplyAdd(de, Vector512.Create(xe[t0]), a0); a1 = Vector512.FusedMultiplyAdd(de, Vector512.Create(xe[t1]), a1);
            a2 = Vector512.FusedMultiplyAdd(de, Vector512.Create(xe[t2]), a2); a3 = Vector512.FusedMultiplyAdd(de, Vector512.Create(xe[t3]), a3);
            a4 = Vector512.FusedMultiplyAdd(de, Vector512.Create(xe[t4]), a4); a5 = Vector512.FusedMultiplyAdd(de, Vector512.Create(xe[t5]), a5);
            a6 = Vector512.FusedMultiplyAdd(de, Vector512.Create(xe[t6]), a6); a7 = Vector512.FusedMultiplyAdd(de, Vector512.Create(xe[t7]), a7);
        }
        Accumulate(sums, 0, count, a0 + b0); Accumulate(sums, 1, count, a1 + b1); Accumulate(sums, 2, count, a2 + b2);
        Accumulate(sums, 3, count, a3 + b3); Accumulate(sums, 4, count, a4 + b4); Accumulate(sums, 5, count, a5 + b5);
        Accumulate(sums, 6, count, a6 + b6); Accumulate(sums, 7, count, a7 + b7);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Accumulate(float* sums, int i, int count, Vector512<float> a)
    {
        if (i < count) (Vector512.Load(sums + i * Lanes) + a).Store(sums + i * Lanes);
    }
}
