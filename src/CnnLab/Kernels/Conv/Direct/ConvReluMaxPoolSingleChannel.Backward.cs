using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend as in ConvReluMaxPoolSingleChannel.cs; dp = d pooled [N, OC, PH, PW]; dz the gradient of the
// conv output: dp at the position its window code names, zero elsewhere (and where the code is NoGradient).

internal static unsafe partial class ConvReluMaxPoolSingleChannel
{
    /// <summary>
    /// dW[oc, ky, kx] += Σ dz[n, oc, y, x]·xp[n, y + ky, x + kx] and db[oc] += Σ dz[n, oc, ·, ·] (each skipped
    /// when null), dz rebuilt 16 pooled outputs at a time from dp and the forward's window codes: the four
    /// conv vectors of a pooled row (rows 2i, 2i + 1, even and odd columns) are dp where the code names
    /// them, else zero, and each meets the same E/O input vectors as in the forward. The general
    /// path scatters dz into an [OC, H·W] block per image and multiplies it by a [H·W, 9] column matrix
    /// (a GEMM whose n is 9). The sums run in another order than the general path's, so dW and db agree
    /// with it to rounding, not bit for bit; they are the same for any thread count. No dx: the first
    /// layer's input needs none (a caller whose input needs one takes the general path).
    /// </summary>
    public static void BackwardWeights(in Conv2dGeometry g, in Pool2dGeometry pool, ReadOnlySpan<float> x, ReadOnlySpan<byte> codes,
        ReadOnlySpan<float> dPooled, Span<float> dw, Span<float> db)
    {
        long outs = (long)g.N * g.OC * pool.OH * pool.OW;
        // The geometries and x (no w, pooled or argmax here).
        ConvReluMaxPoolKernel.Check(g, pool, x.Length, g.OC * g.ColRows, int.MaxValue, int.MaxValue);
        if (dPooled.Length < outs) throw new ArgumentException($"d pooled has {dPooled.Length} elements, needs {outs}");
        if (!Supports(g, pool)) throw new ArgumentException($"the direct one-channel path does not take {g} pooled by {pool}");
        if (codes.Length < CodesLength(g, pool)) throw new ArgumentException($"codes has {codes.Length} bytes, needs {CodesLength(g, pool)}");
        Conv2dKernel.CheckGradients(g, 0, dw.Length, db.Length);
        if ((dw.IsEmpty && db.IsEmpty) || g.N == 0) return;
        fixed (float* px = x, pd = dPooled, pdw = dw, pdb = db)
        fixed (byte* pc = codes)
            BackwardWeights(g, pool, px, pc, pd, pdw, pdb);
    }

    private static void BackwardWeights(in Conv2dGeometry g, in Pool2dGeometry pool, float* x, byte* codes, float* dPooled, float* dw, float* db)
    {
        var geo = g;
        int taps = g.ColRows, perChannel = taps + 1;   // one channel: 9 or 25 weight sums, then the bias sum
        int ph = pool.OH, pw = pool.OW, codeStride = CodeStride(pw);
        int chunks = Math.Min(g.N, ConvBackwardPass.WeightGradientChunks), perChunk = g.OC * perChannel;
        int scratchLength = Winograd3x3.ScratchLength(g.H, g.W, g.PH), dzLength = taps == 9 ? 0 : 4 * ph * codeStride;
        float[][] partials = new float[chunks][];
        nint xs = (nint)x, cds = (nint)codes, ds = (nint)dPooled, dsEnd = (nint)(dPooled + (long)g.N * g.OC * ph * pw);
        Parallelism.For(chunks, 1, (cs, ce) =>
        {
            float[] scratch = ArrayPool<float>.Shared.Rent(scratchLength);
            Array.Clear(scratch, 0, scratchLength);
            // Per output channel, 16 lanes of each of its 9 weight sums and its bias sum, over the chunk's images.
            float[] lanes = ArrayPool<float>.Shared.Rent(perChunk * 16);
            // The 5x5 kernel's dz of one plane (conv rows 0 … 2·PH − 1, even and odd columns).
            float[] dz = ArrayPool<float>.Shared.Rent(Math.Max(1, dzLength));
            fixed (float* sc = scratch, ls = lanes, dzs = dz)
                for (int chunk = cs; chunk < ce; chunk++)
                {
                    Array.Clear(lanes, 0, perChunk * 16);
                    int n0 = (int)((long)chunk * geo.N / chunks), n1 = (int)((long)(chunk + 1) * geo.N / chunks);
                    for (int n = n0; n < n1; n++)
                    {
                        Winograd3x3.SplitPadded((float*)xs + (long)n * geo.H * geo.W, geo.H, geo.W, sc, out var e, out var o, out int s, geo.PH);
                        for (int oc = 0; oc < geo.OC; oc++)
                        {
                            long plane = (long)n * geo.OC + oc;
                            byte* c = (byte*)cds + plane * ph * codeStride;
                            float* d = (float*)ds + plane * ph * pw, dpEnd = (float*)dsEnd, sums = ls + oc * perChannel * 16;
                            if (taps == 9) PlaneGradient(e, o, s, c, d, dpEnd, ph, pw, codeStride, sums);
                            else PlaneGradient5x5(e, o, s, c, d, dpEnd, ph, pw, codeStride, dzs, sums);
                        }
                    }
                    var partial = partials[chunk] = ArrayPool<float>.Shared.Rent(perChunk);
                    for (int k = 0; k < perChunk; k++) partial[k] = Vector512.Sum(Vector512.Load(ls + 16 * k));
                }
            ArrayPool<float>.Shared.Return(scratch);
            ArrayPool<float>.Shared.Return(lanes);
            ArrayPool<float>.Shared.Return(dz);
        });
        // In chunk order, whatever thread computed each.
        var total = partials[0];
        for (int chunk = 1; chunk < chunks; chunk++)
            for (int k = 0; k < perChunk; k++) total[k] += partials[chunk][k];
        for (int oc = 0; oc < g.OC; oc++)
        {
            if (dw != null)
                for (int k = 0; k < taps; k++) dw[oc * taps + k] += total[oc * perChannel + k];
            if (db != null) db[oc] += total[oc * perChannel + taps];
        }
        foreach (var partial in partials) ArrayPool<float>.Shared.Return(partial);
    }

    // One image's output channel: adds its 9 weight sums and its bias sum, lane by lane, to sums[k·16 …].
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PlaneGradient(float* e, float* o, int s, byte* codes, float* dp, float* dpEnd, int ph, int pw, int codeStride, float* sums)
    {
        var w00 = Vector512.Load(sums); var w01 = Vector512.Load(sums + 16); var w02 = Vector512.Load(sums + 32);
        var w10 = Vector512.Load(sums + 48); var w11 = Vector512.Load(sums + 64); var w12 = Vector512.Load(sums + 80);
        var w20 = Vector512.Load(sums + 96); var w21 = Vector512.Load(sums + 112); var w22 = Vector512.Load(sums + 128);
        var bias = Vector512.Load(sums + 144);
        // Conv row 2i + 1's own sums (v..), added to the first set at the end: two sets of 9 chains halve the wait on FMA latency.
        Vector512<float> v00 = default, v01 = default, v02 = default;
        Vector512<float> v10 = default, v11 = default, v12 = default;
        Vector512<float> v20 = default, v21 = default, v22 = default;
        var noGradient = Vector512.Create(NoGradient);
        for (int i = 0; i < ph; i++)
        {
            float* re = e + 2L * i * s, ro = o + 2L * i * s;
            for (int j = 0; j < pw; j += 16)
            {
                var d = LoadGradients(dp + (long)i * pw + j, pw - j, dpEnd);
                var code = Avx512F.ConvertToVector512Int32(Vector128.Load(codes + (long)i * codeStride + j));
                bias += Vector512.ConditionalSelect(Vector512.LessThan(code, noGradient).AsSingle(), d, Vector512<float>.Zero);
                var te = Vector512.ConditionalSelect(Vector512.Equals(code, Vector512<int>.Zero).AsSingle(), d, Vector512<float>.Zero);
                var to = Vector512.ConditionalSelect(Vector512.Equals(code, Vector512<int>.One).AsSingle(), d, Vector512<float>.Zero);
                var ue = Vector512.ConditionalSelect(Vector512.Equals(code, Vector512.Create(2)).AsSingle(), d, Vector512<float>.Zero);
                var uo = Vector512.ConditionalSelect(Vector512.Equals(code, Vector512.Create(3)).AsSingle(), d, Vector512<float>.Zero);
                // Padded row 2i + r is kernel row r of conv row 2i (t) and r − 1 of conv row 2i + 1 (u).
                Load(re + j, ro + j, out var e0, out var o0, out var e1, out var o1);
                WeightTaps(e0, o0, e1, o1, te, to, ref w00, ref w01, ref w02);
                Load(re + j + s, ro + j + s, out e0, out o0, out e1, out o1);
                WeightTaps(e0, o0, e1, o1, te, to, ref w10, ref w11, ref w12);
                WeightTaps(e0, o0, e1, o1, ue, uo, ref v00, ref v01, ref v02);
                Load(re + j + 2 * s, ro + j + 2 * s, out e0, out o0, out e1, out o1);
                WeightTaps(e0, o0, e1, o1, te, to, ref w20, ref w21, ref w22);
                WeightTaps(e0, o0, e1, o1, ue, uo, ref v10, ref v11, ref v12);
                Load(re + j + 3 * s, ro + j + 3 * s, out e0, out o0, out e1, out o1);
                WeightTaps(e0, o0, e1, o1, ue, uo, ref v20, ref v21, ref v22);
            }
        }
        (w00 + v00).Store(sums); (w01 + v01).Store(sums + 16); (w02 + v02).Store(sums + 32);
        (w10 + v10).Store(sums + 48); (w11 + v11).Store(sums + 64); (w12 + v12).Store(sums + 80);
        (w20 + v20).Store(sums + 96); (w21 + v21).Store(sums + 112); (w22 + v22).Store(sums + 128);
        bias.Store(sums + 144);
    }

    // 16 pooled gradients from p, count (up to 16 of them) in the row. The lanes past the row are only ever
    // selected by their window code, which is NoGradient there, so a whole load serves wherever it stays
    // inside d pooled (end); only the last row of the last plane takes a masked one. Masked loads of
    // d pooled, streamed from memory, took about twice as long.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> LoadGradients(float* p, int count, float* end) =>
        p + 16 <= end ? Vector512.Load(p) : Avx512F.MaskLoad(p, LaneMask.First(count).AsSingle(), Vector512<float>.Zero);

    // The adjoint of Taps: one padded row's inputs times the even and odd conv gradients, into the sums
    // of kernel row taps k0, k1, k2 (the even window reads E[j], O[j], E[j + 1]; the odd one O[j], E[j + 1], O[j + 1]).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WeightTaps(Vector512<float> e0, Vector512<float> o0, Vector512<float> e1, Vector512<float> o1,
        Vector512<float> even, Vector512<float> odd, ref Vector512<float> k0, ref Vector512<float> k1, ref Vector512<float> k2)
    {
        k0 = Vector512.FusedMultiplyAdd(even, e0, k0);
        k1 = Vector512.FusedMultiplyAdd(even, o0, k1);
        k2 = Vector512.FusedMultiplyAdd(even, e1, k2);
        k0 = Vector512.FusedMultiplyAdd(odd, o0, k0);
        k1 = Vector512.FusedMultiplyAdd(odd, e1, k1);
        k2 = Vector512.FusedMultiplyAdd(odd, o1, k2);
    }
}
