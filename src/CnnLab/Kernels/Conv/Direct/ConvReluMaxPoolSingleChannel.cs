using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend: x [N, 1, H, W] (one input channel), w [OC, 1, 3, 3], padding 1 (or w [OC, 1, 5, 5], padding 2:
// ConvReluMaxPoolSingleChannel.Kernel5x5.cs), stride 1, so conv [N, OC, H, W];
// pooled [N, OC, PH, PW] its 2x2, stride-2 max pool. E and O: a plane's even and odd padded columns
// (Winograd3x3.SplitPadded), so the window of conv column 2j reads E[j], O[j], E[j + 1] and that of
// column 2j + 1 reads O[j], E[j + 1], O[j + 1].

/// <summary>
/// pooled = maxpool2x2(max(0, conv3x3(x, w) + b)) for one input channel (the first layer of an image
/// network), computed directly, 16 pooled outputs at a time: for pooled row i, the four conv vectors
/// (rows 2i and 2i + 1, even and odd columns) each take 9 multiply-adds from the padded input rows
/// 2i … 2i + 3 (walked once, down the plane, each row feeding the three conv rows it belongs to), and the
/// pool is a lane-wise max of those four: no shuffles, no column matrix, no conv buffer. The general
/// path (im2col into a [9, H·W] column matrix, a GEMM whose k is 9 into a [OC, H·W] block, then the
/// pool over that block) writes and reads back both buffers. Here 14 of 16 lanes are useful on 28-wide
/// images, and the bias, the pool's maxes and compares with its window codes, the ReLU and the stores
/// take ~20 vector operations per 36 multiply-adds (the ReLU runs once, after the pool, and the pool
/// takes the NaN-aware chain only when one of its 16 windows holds a NaN).
/// Each conv value is the same sum in the same order as the GEMM's (zero, then the taps in (ky, kx)
/// order by fused multiply-adds, then + b, then ReLU), so pooled values and the window each max came from
/// are bit for bit the general path's. LeNet-5's 5x5 first layer (padding 2) runs the same way, four pooled
/// rows at a time, a kernel row at a time with its weights in registers (<see cref="ForwardPlane5x5"/>), and
/// its dW and db are computed directly too.
/// Written by hand: no .NET library fuses convolution with pooling.
/// </summary>
/// <remarks>PyTorch: <c>F.max_pool2d(F.relu(F.conv2d(x, w, b, padding=1)), 2)</c> with one input channel.</remarks>
internal static unsafe partial class ConvReluMaxPoolSingleChannel
{
    /// <summary>One input channel, a 3x3 kernel with padding 1 or a 5x5 one with padding 2, stride 1, pooled 2x2 by 2.</summary>
    public static bool Supports(in Conv2dGeometry g, in Pool2dGeometry pool) =>
        Avx512F.IsSupported && g is { C: 1, G: 1, SH: 1, SW: 1, DH: 1, DW: 1 }
        && (g is { KH: 3, KW: 3, PH: 1, PW: 1 } || g is { KH: 5, KW: 5, PH: 2, PW: 2 }) && MaxPool2dKernel.IsWhole2x2(pool);

    /// <summary>
    /// Bytes per pooled row in the window codes: the row's width rounded up to whole vectors of 16, so
    /// that every vector of codes is stored whole.
    /// </summary>
    public static int CodeStride(int pooledWidth) => (pooledWidth + 15) / 16 * 16;

    /// <summary>Bytes of window codes for a batch: N·OC·PH·<see cref="CodeStride"/>.</summary>
    public static long CodesLength(in Conv2dGeometry g, in Pool2dGeometry pool) => (long)g.N * g.OC * pool.OH * CodeStride(pool.OW);

    /// <summary>
    /// Overwrites pooled [N, OC, PH, PW] and codes (<see cref="CodesLength"/> bytes: one per pooled output,
    /// rows <see cref="CodeStride"/> apart): where in its 2x2 window the max came from in scan order (0 top
    /// left, 1 top right, 2 bottom left, 3 bottom right) when the gradient flows there (pooled &gt; 0), else 4
    /// (also past the row's end). A byte per output, against an int index (and the pooled value read back
    /// to test pooled &gt; 0): the backward reads 4 MB instead of 9.6 for cnn-small's first stage at batch
    /// 128.
    /// </summary>
    public static void Forward(in Conv2dGeometry g, in Pool2dGeometry pool, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b,
        bool hasBias, Span<float> pooled, Span<byte> codes)
    {
        Check(g, pool, x, w, b, hasBias, pooled);
        if (codes.Length < CodesLength(g, pool)) throw new ArgumentException($"codes has {codes.Length} bytes, needs {CodesLength(g, pool)}");
        fixed (float* px = x, pw = w, pb = b, pp = pooled)
        fixed (byte* pc = codes)
            Forward(g, pool, px, pw, hasBias ? pb : null, pp, pc);
    }

    /// <summary>
    /// The pooled values of <c>Forward</c> alone, for a forward no gradient will be taken of (inference): the same bits,
    /// without finding where in its window each maximum came from.
    /// </summary>
    public static void ForwardValues(in Conv2dGeometry g, in Pool2dGeometry pool, ReadOnlySpan<float> x, ReadOnlySpan<float> w,
        ReadOnlySpan<float> b, bool hasBias, Span<float> pooled)
    {
        Check(g, pool, x, w, b, hasBias, pooled);
        fixed (float* px = x, pw = w, pb = b, pp = pooled)
            Forward(g, pool, px, pw, hasBias ? pb : null, pp, null);
    }

    // The geometries, x, w, b and pooled of either forward.
    private static void Check(in Conv2dGeometry g, in Pool2dGeometry pool, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b,
        bool hasBias, Span<float> pooled)
    {
        ConvReluMaxPoolKernel.Check(g, pool, x.Length, w.Length, pooled.Length, pooled.Length);
        if (!Supports(g, pool)) throw new ArgumentException($"the direct one-channel path does not take {g} pooled by {pool}");
        if (hasBias && b.Length < g.OC) throw new ArgumentException($"b has {b.Length} elements, needs {g.OC}");
    }

    // codes null: the values alone (ForwardValues).
    private static void Forward(in Conv2dGeometry g, in Pool2dGeometry pool, float* x, float* w, float* bias, float* pooled, byte* codes)
    {
        var geo = g;
        int ph = pool.OH, pw = pool.OW, codeStride = CodeStride(pw);
        int scratchLength = Winograd3x3.ScratchLength(g.H, g.W, g.PH), taps = g.ColRows;   // one channel: 9 or 25 weights
        nint xs = (nint)x, ws = (nint)w, bs = (nint)bias, ps = (nint)pooled, cds = (nint)codes;
        Parallelism.For(g.N, 1, (start, end) =>
        {
            float[] scratch = ArrayPool<float>.Shared.Rent(scratchLength);
            Array.Clear(scratch, 0, scratchLength);
            fixed (float* sc = scratch)
                for (int n = start; n < end; n++)
                {
                    Winograd3x3.SplitPadded((float*)xs + (long)n * geo.H * geo.W, geo.H, geo.W, sc, out var e, out var o, out int s, geo.PH);
                    for (int oc = 0; oc < geo.OC; oc++)
                    {
                        long plane = (long)n * geo.OC + oc;
                        float* k = (float*)ws + taps * oc, b = bs == 0 ? null : (float*)bs + oc, p = (float*)ps + plane * ph * pw;
                        byte* c = cds == 0 ? null : (byte*)cds + plane * ph * codeStride;
                        if (taps == 9) ForwardPlane(e, o, s, k, b, ph, pw, p, c);
                        else ForwardPlane5x5(e, o, s, k, b, ph, pw, p, c);
                    }
                }
            ArrayPool<float>.Shared.Return(scratch);
        });
    }

    // One output channel of one image: k the channel's 9 weights, b its bias (null: none), codes null for the values alone.
    // Down the padded rows r, three conv rows are open: r − 2 takes its kernel row 2 and is complete, r − 1 its row 1, r its
    // row 0 (six chains of 3 multiply-adds
    // per row, and the next row's chains start before this row's finish, so the FMA pipes stay busy).
    // Every second completed conv row closes a pooled row.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardPlane(float* e, float* o, int s, float* k, float* b, int ph, int pw, float* pooled, byte* codes)
    {
        var k00 = Vector512.Create(k[0]); var k01 = Vector512.Create(k[1]); var k02 = Vector512.Create(k[2]);
        var k10 = Vector512.Create(k[3]); var k11 = Vector512.Create(k[4]); var k12 = Vector512.Create(k[5]);
        var k20 = Vector512.Create(k[6]); var k21 = Vector512.Create(k[7]); var k22 = Vector512.Create(k[8]);
        var epilogue = new Epilogue(b, valuesOnly: codes == null);
        int codeStride = CodeStride(pw);
        int rows = 2 * ph;   // conv rows pooled; padded rows 0 … rows + 1 feed them
        for (int j = 0; j < pw; j += 16)
        {
            // Even (e) and odd (o) columns of conv rows r − 2 (done), r − 1 (mid), r (open), and the
            // completed even conv row waiting for its odd partner (top).
            Vector512<float> doneE = default, doneO = default, midE = default, midO = default, openE = default, openO = default;
            Vector512<float> topE = default, topO = default;
            for (int r = 0; r < rows + 2; r++)
            {
                Load(e + (long)r * s + j, o + (long)r * s + j, out var e0, out var o0, out var e1, out var o1);
                if (r >= 2) Taps(e0, o0, e1, o1, k20, k21, k22, ref doneE, ref doneO);
                if (r >= 1 && r <= rows) Taps(e0, o0, e1, o1, k10, k11, k12, ref midE, ref midO);
                if (r < rows) Taps(e0, o0, e1, o1, k00, k01, k02, ref openE, ref openO);
                int m = r - 2;
                if (m >= 0 && (m & 1) == 1)
                {
                    int i = m >> 1;
                    epilogue.Pool(topE, topO, doneE, doneO, pw - j, pooled + (long)i * pw + j, codes + (long)i * codeStride + j);
                }
                (topE, topO) = (doneE, doneO);
                (doneE, doneO, midE, midO, openE, openO) = (midE, midO, openE, openO, Vector512<float>.Zero, Vector512<float>.Zero);
            }
        }
    }

    // Bias, ReLU and the 2x2 pool of one channel, as the general path's GEMM epilogue and MaxPool2dKernel do them.
    // Without a NaN in the window the ReLU runs once, after the pool: max commutes with max(0, ·), and
    // where the max is positive (the only place its window code is kept) the first tap equal to it is the
    // same before and after the ReLU; where it is not, the pooled value is +0 either way. That saves 6 of
    // the 8 operations the four ReLUs (IEEE max with NaN kept: vmaxps and vfixupimmps each) took.
    // valuesOnly: no window codes (codes is not written).
    private readonly struct Epilogue(float* bias, bool valuesOnly)
    {
        private readonly bool _hasBias = bias != null, _valuesOnly = valuesOnly;
        private readonly Vector512<float> _bias = bias != null ? Vector512.Create(*bias) : default;

        // Conv rows 2i (t) and 2i + 1 (u), even and odd columns: the pooled row's next 16 outputs (count of
        // them to store, up to 16) and their window codes.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Pool(Vector512<float> te, Vector512<float> to, Vector512<float> ue, Vector512<float> uo, int count, float* pooled, byte* codes)
        {
            // Adding a zero bias turns −0 into +0, which only a value ≤ 0 can be: its output is +0 and code 4 either way.
            Vector512<float> a = te + _bias, b = to + _bias, c = ue + _bias, d = uo + _bias, best;
            Vector512<int> at = default;
            if (MaxPool2dKernel.AnyNaN(a, b, c, d))
                MaxPool2dKernel.Pick2x2Ordered(Activate(te), Activate(to), Activate(ue), Activate(uo), Vector512.Create(2), Vector512.Create(3),
                    out best, out at);
            else
            {
                // The values alone need no window: the maximum without its compares and blends.
                if (_valuesOnly) best = MaxPool2dKernel.Max2x2WithoutNaN(a, b, c, d);
                else MaxPool2dKernel.Pick2x2WithoutNaN(a, b, c, d, Vector512.Create(2), Vector512.Create(3), out best, out at);
                best = Avx512F.Max(best, Vector512<float>.Zero);   // best > 0 ? best : +0
            }
            var keep = LaneMask.First(count);
            if (!_valuesOnly)
            {
                var flows = Vector512.GreaterThan(best, Vector512<float>.Zero).AsInt32() & keep;
                Avx512F.ConvertToVector128Byte(Vector512.ConditionalSelect(flows, at, Vector512.Create(NoGradient))).Store(codes);
            }
            if (count >= 16) best.Store(pooled);
            else Avx512F.MaskStore(pooled, keep.AsSingle(), best);
        }

        // The GEMM epilogue's order: + bias (when there is one: adding zero would turn −0 into +0), then ReLU.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private Vector512<float> Activate(Vector512<float> v) => Vector512.Max(_hasBias ? v + _bias : v, Vector512<float>.Zero);
    }

    // The window code of an output whose gradient stops there (pooled ≤ 0 or NaN, or past the row).
    private const int NoGradient = 4;

    // E[j], O[j], E[j + 1], O[j + 1] of one padded row, 16 columns each.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Load(float* e, float* o, out Vector512<float> e0, out Vector512<float> o0, out Vector512<float> e1, out Vector512<float> o1)
    {
        e0 = Vector512.Load(e);
        o0 = Vector512.Load(o);
        e1 = Vector512.Load(e + 1);
        o1 = Vector512.Load(o + 1);
    }

    // One padded row's three taps k0, k1, k2 into an even and an odd conv vector: the even window reads
    // E[j], O[j], E[j + 1]; the odd one O[j], E[j + 1], O[j + 1].
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Taps(Vector512<float> e0, Vector512<float> o0, Vector512<float> e1, Vector512<float> o1,
        Vector512<float> k0, Vector512<float> k1, Vector512<float> k2, ref Vector512<float> even, ref Vector512<float> odd)
    {
        even = Vector512.FusedMultiplyAdd(k0, e0, even);
        even = Vector512.FusedMultiplyAdd(k1, o0, even);
        even = Vector512.FusedMultiplyAdd(k2, e1, even);
        odd = Vector512.FusedMultiplyAdd(k0, o0, odd);
        odd = Vector512.FusedMultiplyAdd(k1, e1, odd);
        odd = Vector512.FusedMultiplyAdd(k2, o1, odd);
    }
}
