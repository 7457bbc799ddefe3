using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

// Legend as in Winograd3x3.cs and WinogradBlock.cs; dU_ξ the gradient of the transformed kernels U_ξ.

/// <summary>
/// The weight gradient of a Winograd F(2x2, 3x3), F(4x4, 3x3) or F(2x2, 5x5) convolution (the block's variant), the adjoint of its
/// forward: with M_ξ = Σ_c U_ξ[o, c]·V_ξ[c, t] and Y = Aᵀ·M·A per tile, dM = A·dY·Aᵀ (4x4 from each 2x2 tile of dy, or 6x6
/// from each 4x4), dU_ξ[o, c] = Σ_t dM_ξ[o, t]·V_ξ[c, t] (P = 16 or 36 products over a block's tiles, V the forward's
/// transformed input), and dW = Gᵀ·dU·G per (o, c). 16·C·OC multiply-adds per 4 outputs (36 per 16) where im2col + GEMM
/// does 36 per output (Lavin &amp; Gray 2016; oneDNN and cuDNN have Winograd weight-gradient algorithms too), and no
/// column matrix is built. Images are added to a block one at a time (<see cref="AddImage"/>), each
/// block's tiles multiplied into a running dU [G, P, OCg, Cg] (<see cref="Accumulate"/>) in image order,
/// and dU turned into dW once at the end (<see cref="AddToWeights"/>). <paramref name="groupByGroup"/>: the caller runs a block
/// one group at a time, so every group's planes take the same place in the buffers (one group's channels: they stay in L2
/// from one group to the next, where a place per group would make each group's transforms write lines that left it).
/// Written by hand: no .NET library has Winograd convolution.
/// </summary>
internal sealed unsafe partial class WinogradWeightGradient(in Conv2dGeometry g, WinogradBlock block, bool groupByGroup = false)
{
    private readonly Conv2dGeometry _g = g;
    private readonly bool _groupByGroup = groupByGroup;
    private readonly WinogradBlock _block = block.H == g.H && block.W == g.W ? block
        : throw new ArgumentException($"a block of {block.H}x{block.W} planes for a convolution of {g.H}x{g.W}");

    // Planes from which AddImage asks for the next image while it transforms this one: from 14x14 up it paid, on 7x7 a plane's
    // transform was too short for its share of the asks (bench/RESULTS.md, "Winograd's weight gradient asks for the next image").
    internal const int MinAheadPixels = 144;

    /// <summary>Floats of the dU this gradient accumulates: [G][P][OCg][Cg].</summary>
    public int TransformedLength => _block.Positions * _g.C * _g.OCg;

    /// <summary>
    /// One thread's buffers: the block's V [C + OC, P, ldv] holds the transformed inputs in its first C
    /// channels and the output gradients dM (same layout) in the OC after them ([Cg + OCg, P, ldv] group by group).
    /// Dispose to return them.
    /// </summary>
    public WinogradBlock.Buffers Rent() => _block.Rent(_groupByGroup ? _g.Cg + _g.OCg : _g.C + _g.OC, multiply: false);

    // Where group `group`'s first transformed input plane and first dM plane lie in the buffers, in channels.
    private (long Inputs, long Gradients) Places(int group) =>
        _groupByGroup ? (0, _g.Cg) : ((long)group * _g.Cg, _g.C + (long)group * _g.OCg);

    /// <summary>
    /// Transforms group <paramref name="group"/> of one image into block slot <paramref name="slot"/>:
    /// its Cg input planes <paramref name="x"/> (consecutive, H·W each) into V and its OCg output-gradient
    /// planes <paramref name="dy"/> into dM.
    /// </summary>
    public void AddImage(WinogradBlock.Buffers b, int group, float* x, ReadOnlySpan<float> dy, int slot,
        ChannelBlockedConv.Upcoming next = default)
    {
        int plane = _g.H * _g.W, ldv = _block.Ldv;
        // What the caller reads next (the next image's x and dY), asked for into L2 a share after each plane transformed: the
        // next image's first reads then find it there instead of waiting on memory. Not on planes under MinAheadPixels.
        long aheadLines = 0;
        var ahead = plane >= MinAheadPixels ? next.ByLines(_g, out aheadLines) : default;
        int share = (int)((aheadLines + _g.Cg + _g.OCg - 1) / (_g.Cg + _g.OCg));
        long at = (long)slot * _block.Tiles, channel = (long)_block.Positions * ldv;
        int side = _block.TileSide, kernel = _block.KernelSide;
        var (inputs, gradients) = Places(group);
        float* v = b.VStart + channel * inputs, dm = b.VStart + channel * gradients;
        fixed (float* scratch = b.Scratch, pdy = dy)
        {
            for (int c = 0; c < _g.Cg; c++)
            {
                CacheLines.Prefetch(c + 1 < _g.Cg ? x + (c + 1L) * plane : pdy, plane);
                _block.TransformPlane(x + (long)c * plane, scratch, v + channel * c + at);
                ahead = ahead.AskLines(share);
            }
            for (int o = 0; o < _g.OCg; o++)
            {
                if (o + 1 < _g.OCg) CacheLines.Prefetch(pdy + (o + 1L) * plane, plane);
                float* to = dm + channel * o + at;
                if (kernel == 5) Winograd5x5.TransformOutputGradient(pdy + (long)o * plane, _g.H, _g.W, to, ldv);
                else if (side == 4) Winograd4x4.TransformOutputGradient(pdy + (long)o * plane, _g.H, _g.W, to, ldv);
                else TransformOutputGradient(pdy + (long)o * plane, _g.H, _g.W, to, ldv);
                ahead = ahead.AskLines(share);
            }
        }
    }

    /// <summary>
    /// dU_ξ [OCg, Cg] of group <paramref name="group"/> += dM_ξ [OCg, tiles] · V_ξᵀ [tiles, Cg] over the block's
    /// first <paramref name="count"/> images (<see cref="AddDots(int, int, int, float*, float*, long, float*, float*)"/>).
    /// </summary>
    public void Accumulate(WinogradBlock.Buffers b, int group, int count, Span<float> du)
    {
        int cg = _g.Cg, ocg = _g.OCg, ldv = _block.Ldv, k = count * _block.Tiles, positions = _block.Positions;
        long channel = (long)positions * ldv;
        var dug = du.Slice(group * positions * ocg * cg, positions * ocg * cg);
        var (inputs, gradients) = Places(group);
        float* x = b.VStart + channel * inputs, dm = b.VStart + channel * gradients;
        var scratch = ArrayPool<float>.Shared.Rent(DotsScratch(cg, k));
        fixed (float* pdu = dug, turned = scratch)
            for (int xi = 0; xi < positions; xi++)
                AddDots(ocg, cg, k, dm + (long)xi * ldv, x + (long)xi * ldv, channel, pdu + xi * ocg * cg, turned);
        ArrayPool<float>.Shared.Return(scratch);
    }

    /// <summary>dw [OC, Cg, K, K] += Gᵀ·dU·G from the accumulated dU [G, P, OCg, Cg].</summary>
    public void AddToWeights(ReadOnlySpan<float> du, Span<float> dw)
    {
        int cg = _g.Cg, ocg = _g.OCg, positions = _block.Positions, taps = _block.KernelSide * _block.KernelSide;
        Span<float> one = stackalloc float[positions];
        bool lanes = WinogradBlock.KernelsInLanes(_block.TileSide, _block.KernelSide);
        fixed (float* pdu = du, pdw = dw)
            for (int grp = 0; grp < _g.G; grp++)
                for (int o = 0; o < ocg; o++)
                    for (int c = 0; c < cg; c++)
                    {
                        if (lanes && c + 8 <= cg)
                        {
                            // Eight channels side by side: their dU entries lie next to each other at every position.
                            float* from = pdu + ((long)(grp * positions) * ocg + o) * cg + c, to = pdw + ((long)(grp * ocg + o) * cg + c) * taps;
                            if (taps == 25) Winograd5x5.KernelGradients(from, (long)ocg * cg, to);
                            else if (positions == 16) KernelGradients(from, (long)ocg * cg, to);
                            else Winograd4x4.KernelGradients(from, (long)ocg * cg, to);
                            c += 7;
                            continue;
                        }
                        for (int xi = 0; xi < positions; xi++) one[xi] = du[((grp * positions + xi) * ocg + o) * cg + c];
                        var dk = dw.Slice(((grp * ocg + o) * cg + c) * taps, taps);
                        if (taps == 25) Winograd5x5.KernelGradient(one, dk);
                        else if (positions == 16) KernelGradient(one, dk);
                        else Winograd4x4.KernelGradient(one, dk);
                    }
    }

    /// <summary>
    /// dk [3, 3] += Gᵀ·dU·G for one (o, c), dU [4, 4] at ξ = 4i + j: the adjoint of
    /// <see cref="Winograd3x3.TransformKernel"/> (U = G·k·Gᵀ, G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]).
    /// </summary>
    internal static void KernelGradient(ReadOnlySpan<float> du, Span<float> dk)
    {
        // Gᵀ down the columns: rows (d0 + ½(d1 + d2), ½(d1 − d2), ½(d1 + d2) + d3), then across the same way.
        Span<float> t = stackalloc float[12];
        for (int j = 0; j < 4; j++)
        {
            float d0 = du[j], d1 = du[4 + j], d2 = du[8 + j], d3 = du[12 + j];
            t[j] = d0 + 0.5f * (d1 + d2);
            t[4 + j] = 0.5f * (d1 - d2);
            t[8 + j] = 0.5f * (d1 + d2) + d3;
        }
        for (int i = 0; i < 3; i++)
        {
            float r0 = t[4 * i], r1 = t[4 * i + 1], r2 = t[4 * i + 2], r3 = t[4 * i + 3];
            dk[3 * i] += r0 + 0.5f * (r1 + r2);
            dk[3 * i + 1] += 0.5f * (r1 - r2);
            dk[3 * i + 2] += 0.5f * (r1 + r2) + r3;
        }
    }

    /// <summary>
    /// <see cref="KernelGradient"/> for eight (o, c) at once: lane l's dU at du[ξ·<paramref name="duStride"/> + l], its kernel
    /// gradient at dk + l·9 (+=). The scalar form's operations in its order on each lane: the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void KernelGradients(float* du, long duStride, float* dk)
    {
        var half = Vector256.Create(0.5f);
        Vector256<float>* t = stackalloc Vector256<float>[12];
        for (int j = 0; j < 4; j++)
        {
            var (d0, d1, d2, d3) = (Vector256.Load(du + j * duStride), Vector256.Load(du + (4 + j) * duStride),
                Vector256.Load(du + (8 + j) * duStride), Vector256.Load(du + (12 + j) * duStride));
            t[j] = d0 + half * (d1 + d2);
            t[4 + j] = half * (d1 - d2);
            t[8 + j] = half * (d1 + d2) + d3;
        }
        for (int i = 0; i < 3; i++)
        {
            var (r0, r1, r2, r3) = (t[4 * i], t[4 * i + 1], t[4 * i + 2], t[4 * i + 3]);
            AddLanes(r0 + half * (r1 + r2), dk, 9, 3 * i);
            AddLanes(half * (r1 - r2), dk, 9, 3 * i + 1);
            AddLanes(half * (r1 + r2) + r3, dk, 9, 3 * i + 2);
        }
    }

    /// <summary>dk[l·<paramref name="taps"/> + <paramref name="tap"/>] += lane l of <paramref name="v"/>: one tap of eight kernels'
    /// gradients taken a lane each, added back kernel by kernel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void AddLanes(Vector256<float> v, float* dk, int taps, int tap)
    {
        for (int l = 0; l < 8; l++) dk[l * taps + tap] += v.GetElement(l);
    }

    /// <summary>
    /// dM_ξ = (A·dY·Aᵀ)_ξ of every tile of one output-gradient plane dy [H, W] (the adjoint of
    /// <see cref="Winograd3x3.TransformOutput"/>, A = [1 0; 1 1; 1 −1; 0 −1]): tile t's value for ξ goes to
    /// dm[ξ·xiStride + t]. Outputs outside the plane (odd H or W) count as zero. Writes run 16 tiles at a
    /// time in increasing t and may spill up to 15 floats past the plane's last tile, as TransformInput's do.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void TransformOutputGradient(float* dy, int h, int w, float* dm, long xiStride)
    {
        int th = (h + 1) / 2, tw = (w + 1) / 2;
        var zero = Vector512<float>.Zero;
        // Tile rows outermost: a row's last vector spills into the next row's first tiles, written after it.
        for (int ty = 0; ty < th; ty++)
            for (int tb = 0; tb < tw; tb += 16)
            {
                int col = 2 * tb, count = Math.Min(32, w - col);
                var maskLo = LaneMask.First(Math.Min(16, count)).AsSingle();
                var maskHi = LaneMask.First(count - 16).AsSingle();
                float* top = dy + (long)2 * ty * w + col;
                long readable = (long)(h - 2 * ty) * w - col;   // floats from top to the plane's end
                Winograd3x3.SplitColumns(top, count, readable, maskLo, maskHi, out var e0, out var o0);
                Vector512<float> e1 = zero, o1 = zero;
                if (2 * ty + 1 < h) Winograd3x3.SplitColumns(top + w, count, readable - w, maskLo, maskHi, out e1, out o1);
                float* dst = dm + ty * tw + tb;
                // A·dY down: rows (y0, y0 + y1, y0 − y1, −y1); then ·Aᵀ across each row the same way.
                Across(dst, xiStride, 0, e0, o0);
                Across(dst, xiStride, 1, e0 + e1, o0 + o1);
                Across(dst, xiStride, 2, e0 - e1, o0 - o1);
                Across(dst, xiStride, 3, zero - e1, zero - o1);
            }
    }

    // Row i of dM from row i of A·dY, (a, b): (a, a + b, a − b, −b) at ξ = 4i … 4i + 3.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Across(float* dst, long xiStride, int i, Vector512<float> a, Vector512<float> b)
    {
        float* p = dst + 4 * i * xiStride;
        a.Store(p);
        (a + b).Store(p + xiStride);
        (a - b).Store(p + 2 * xiStride);
        (Vector512<float>.Zero - b).Store(p + 3 * xiStride);
    }
}
