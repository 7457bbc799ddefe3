using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend: x [N, 1, H, W] (one input channel), w [OC, 1, 3, 3], padding 1, stride 1, so conv [N, OC, H, W];
// pooled [N, OC, PH, PW] its 2x2, stride-2 max pool. E and O: a plane's even and odd padded columns
// (Winograd3x3.SplitPadded), so the window of conv column 2j reads E[j], O[j], E[j + 1] and that of
// column 2j + 1 reads O[j], E[j + 1], O[j + 1].

/// <summary>
/// pooled = maxpool2x2(max(0, conv3x3(x, w) + b)) for one input channel (the first layer of an image
/// network), computed directly, 16 pooled outputs at a time: for pooled row i, the four conv vectors
/// (rows 2i and 2i + 1, even and odd columns) each take 9 multiply-adds from the padded input rows
/// 2i … 2i + 3, and the pool is a lane-wise max of those four: no shuffles, no column matrix, no conv
/// buffer. The general path (im2col into a [9, H·W] column matrix, a GEMM whose k is 9 into a [OC, H·W]
/// block, then the pool over that block) took 1.39–1.51 ms for cnn-small's first stage (batch 128, one
/// core); this takes 0.60–0.65 ms, of which the multiply-adds alone 0.37 (~89 % of the FMA peak on the
/// lanes and rows they run, 14 of 16 lanes and 14 of 16 rows useful) and ReLU, pool and stores the rest.
/// Each conv value is the same sum in the same order as the GEMM's (zero, then the taps in (ky, kx)
/// order by fused multiply-adds, then + b, then ReLU), so pooled values and argmax indices are bit for bit
/// those of the general path. Written by hand: no .NET library fuses convolution with pooling.
/// </summary>
/// <remarks>PyTorch: <c>F.max_pool2d(F.relu(F.conv2d(x, w, b, padding=1)), 2)</c> with one input channel.</remarks>
internal static unsafe partial class ConvReluMaxPoolSingleChannel
{
    /// <summary>Turns this path off on this thread (tests and benchmarks that compare it with the general one).</summary>
    [ThreadStatic] internal static bool Disabled;

    public static bool Applies(in Conv2dGeometry g, in Pool2dGeometry pool) =>
        !Disabled && Avx512F.IsSupported && g is { C: 1, G: 1, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1 }
        && MaxPool2dKernel.IsWhole2x2(pool);

    /// <summary>Overwrites pooled and argmax [N, OC, PH, PW] (argmax: index within the H·W conv plane). Shapes checked by the caller.</summary>
    public static void Forward(in Conv2dGeometry g, in Pool2dGeometry pool, float* x, float* w, float* bias, float* pooled, int* argmax)
    {
        var geo = g;
        int ph = pool.OH, pw = pool.OW;
        // Six rows more than the split needs: the last step's rows past the plane (not stored) read up to
        // six padded rows past O's block.
        int scratchLength = Winograd3x3.ScratchLength(g.H, g.W) + 6 * Winograd3x3.ScratchStride(g.W);
        nint xs = (nint)x, ws = (nint)w, bs = (nint)bias, ps = (nint)pooled, ids = (nint)argmax;
        Parallelism.For(g.N, 1, (start, end) =>
        {
            float[] scratch = ArrayPool<float>.Shared.Rent(scratchLength);
            Array.Clear(scratch, 0, scratchLength);
            fixed (float* sc = scratch)
                for (int n = start; n < end; n++)
                {
                    Winograd3x3.SplitPadded((float*)xs + (long)n * geo.H * geo.W, geo.H, geo.W, sc, out var e, out var o, out int s);
                    for (int oc = 0; oc < geo.OC; oc++)
                    {
                        long plane = ((long)n * geo.OC + oc) * ph * pw;
                        ForwardPlane(e, o, s, (float*)ws + 9 * oc, bs == 0 ? null : (float*)bs + oc, ph, pw, geo.W, (float*)ps + plane, (int*)ids + plane);
                    }
                }
            ArrayPool<float>.Shared.Return(scratch);
        });
    }

    // One output channel of one image, four pooled rows (eight conv rows) at a time: 16 independent chains
    // of 9 multiply-adds, enough to cover the FMA's latency (with the 4 chains of one pooled row the FMA
    // pipes sat half idle). k the channel's 9 weights, b its bias (null: none), ow the conv plane's width
    // (for the argmax indices). Rows past the last pooled one are computed from the scratch's spare rows
    // and not stored.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardPlane(float* e, float* o, int s, float* k, float* b, int ph, int pw, int ow, float* pooled, int* argmax)
    {
        var k00 = Vector512.Create(k[0]); var k01 = Vector512.Create(k[1]); var k02 = Vector512.Create(k[2]);
        var k10 = Vector512.Create(k[3]); var k11 = Vector512.Create(k[4]); var k12 = Vector512.Create(k[5]);
        var k20 = Vector512.Create(k[6]); var k21 = Vector512.Create(k[7]); var k22 = Vector512.Create(k[8]);
        var epilogue = new Epilogue(b, ow);
        for (int i = 0; i < ph; i += 4)
        {
            float* re = e + 2L * i * s, ro = o + 2L * i * s;
            for (int j = 0; j < pw; j += 16)
            {
                // Conv rows 2i + m (c0 … c7), even (e) and odd (o) columns; padded row 2i + r holds kernel row r − m of conv row 2i + m.
                var c0e = Vector512<float>.Zero; var c0o = Vector512<float>.Zero; var c1e = Vector512<float>.Zero; var c1o = Vector512<float>.Zero; var c2e = Vector512<float>.Zero; var c2o = Vector512<float>.Zero; var c3e = Vector512<float>.Zero; var c3o = Vector512<float>.Zero;
                var c4e = Vector512<float>.Zero; var c4o = Vector512<float>.Zero; var c5e = Vector512<float>.Zero; var c5o = Vector512<float>.Zero; var c6e = Vector512<float>.Zero; var c6o = Vector512<float>.Zero; var c7e = Vector512<float>.Zero; var c7o = Vector512<float>.Zero;
                Load(re + j, ro + j, out var e0, out var o0, out var e1, out var o1);
                Taps(e0, o0, e1, o1, k00, k01, k02, ref c0e, ref c0o);
                Load(re + j + s, ro + j + s, out e0, out o0, out e1, out o1);
                Taps(e0, o0, e1, o1, k10, k11, k12, ref c0e, ref c0o);
                Taps(e0, o0, e1, o1, k00, k01, k02, ref c1e, ref c1o);
                Load(re + j + 2 * s, ro + j + 2 * s, out e0, out o0, out e1, out o1);
                Taps(e0, o0, e1, o1, k20, k21, k22, ref c0e, ref c0o);
                Taps(e0, o0, e1, o1, k10, k11, k12, ref c1e, ref c1o);
                Taps(e0, o0, e1, o1, k00, k01, k02, ref c2e, ref c2o);
                Load(re + j + 3 * s, ro + j + 3 * s, out e0, out o0, out e1, out o1);
                Taps(e0, o0, e1, o1, k20, k21, k22, ref c1e, ref c1o);
                Taps(e0, o0, e1, o1, k10, k11, k12, ref c2e, ref c2o);
                Taps(e0, o0, e1, o1, k00, k01, k02, ref c3e, ref c3o);
                Load(re + j + 4 * s, ro + j + 4 * s, out e0, out o0, out e1, out o1);
                Taps(e0, o0, e1, o1, k20, k21, k22, ref c2e, ref c2o);
                Taps(e0, o0, e1, o1, k10, k11, k12, ref c3e, ref c3o);
                Taps(e0, o0, e1, o1, k00, k01, k02, ref c4e, ref c4o);
                Load(re + j + 5 * s, ro + j + 5 * s, out e0, out o0, out e1, out o1);
                Taps(e0, o0, e1, o1, k20, k21, k22, ref c3e, ref c3o);
                Taps(e0, o0, e1, o1, k10, k11, k12, ref c4e, ref c4o);
                Taps(e0, o0, e1, o1, k00, k01, k02, ref c5e, ref c5o);
                Load(re + j + 6 * s, ro + j + 6 * s, out e0, out o0, out e1, out o1);
                Taps(e0, o0, e1, o1, k20, k21, k22, ref c4e, ref c4o);
                Taps(e0, o0, e1, o1, k10, k11, k12, ref c5e, ref c5o);
                Taps(e0, o0, e1, o1, k00, k01, k02, ref c6e, ref c6o);
                Load(re + j + 7 * s, ro + j + 7 * s, out e0, out o0, out e1, out o1);
                Taps(e0, o0, e1, o1, k20, k21, k22, ref c5e, ref c5o);
                Taps(e0, o0, e1, o1, k10, k11, k12, ref c6e, ref c6o);
                Taps(e0, o0, e1, o1, k00, k01, k02, ref c7e, ref c7o);
                Load(re + j + 8 * s, ro + j + 8 * s, out e0, out o0, out e1, out o1);
                Taps(e0, o0, e1, o1, k20, k21, k22, ref c6e, ref c6o);
                Taps(e0, o0, e1, o1, k10, k11, k12, ref c7e, ref c7o);
                Load(re + j + 9 * s, ro + j + 9 * s, out e0, out o0, out e1, out o1);
                Taps(e0, o0, e1, o1, k20, k21, k22, ref c7e, ref c7o);
                long at = (long)i * pw + j;
                if (i + 0 < ph) epilogue.Pool(c0e, c0o, c1e, c1o, i + 0, j, pw - j, pooled + at + 0 * pw, argmax + at + 0 * pw);
                if (i + 1 < ph) epilogue.Pool(c2e, c2o, c3e, c3o, i + 1, j, pw - j, pooled + at + 1 * pw, argmax + at + 1 * pw);
                if (i + 2 < ph) epilogue.Pool(c4e, c4o, c5e, c5o, i + 2, j, pw - j, pooled + at + 2 * pw, argmax + at + 2 * pw);
                if (i + 3 < ph) epilogue.Pool(c6e, c6o, c7e, c7o, i + 3, j, pw - j, pooled + at + 3 * pw, argmax + at + 3 * pw);
            }
        }
    }

    // Bias, ReLU and the 2x2 pool of one channel, as the general path's GEMM epilogue and MaxPool2dKernel do them.
    private readonly struct Epilogue(float* bias, int ow)
    {
        private readonly bool _hasBias = bias != null;
        private readonly Vector512<float> _bias = bias != null ? Vector512.Create(*bias) : default;
        private readonly Vector512<int> _atC = Vector512.Create(ow), _atD = Vector512.Create(ow + 1);
        private readonly int _ow = ow;

        // Conv rows 2i (t) and 2i + 1 (u), even and odd columns from 2j: pooled row i from column j (count
        // of them to store, up to 16), and where each max came from in the conv plane.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Pool(Vector512<float> te, Vector512<float> to, Vector512<float> ue, Vector512<float> uo, int i, int j, int count, float* pooled, int* argmax)
        {
            MaxPool2dKernel.Pick2x2(Activate(te), Activate(to), Activate(ue), Activate(uo), _atC, _atD, out var best, out var at);
            var index = Vector512.Create(2 * i * _ow + 2 * j) + Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30) + at;
            MaxPool2dKernel.StoreRow(pooled, argmax, best, index, count);
        }

        // The GEMM epilogue's order: + bias (when there is one: adding zero would turn −0 into +0), then ReLU.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private Vector512<float> Activate(Vector512<float> v) => Vector512.Max(_hasBias ? v + _bias : v, Vector512<float>.Zero);
    }

    // E[j], O[j], E[j + 1], O[j + 1] of one padded row, 16 columns each.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Load(float* e, float* o, out Vector512<float> e0, out Vector512<float> o0, out Vector512<float> e1, out Vector512<float> o1)
    {
        e0 = Vector512.Load(e);
        o0 = Vector512.Load(o);
        e1 = Vector512.Load(e + 1);
        o1 = Vector512.Load(o + 1);
    }

    // One padded row's three taps k0, k1, k2 into an even and an odd conv vector: the even window reads
    // E[j], O[j], E[j + 1]; the odd one O[j], E[j + 1], O[j + 1].
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Taps(Vector512<float> e0, Vector512<float> o0, Vector512<float> e1, Vector512<float> o1,
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
