using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend as in ConvReluMaxPoolSingleChannel.cs, for a 5x5 kernel with padding 2 (LeNet-5's first layer):
// E and O split with two zero rows and columns around the plane, so the window of conv column 2j reads
// E[j], O[j], E[j + 1], O[j + 1], E[j + 2] and that of column 2j + 1 reads O[j], E[j + 1], O[j + 1], E[j + 2], O[j + 2].

internal static unsafe partial class ConvReluMaxPoolSingleChannel
{
    // Four pooled rows of one output channel at a time: conv rows 2i … 2i + 7 (even and odd columns: sixteen
    // chains of 25 multiply-adds), kernel row by kernel row: the row's five weights are broadcast once into
    // registers, then meet each conv row's padded row 2i + c + ky (six vector loads per ten multiply-adds).
    // Walking the padded rows once instead, two pooled rows at a time, left no registers for the 25 weights:
    // each multiply-add took its weight broadcast from memory, 1.2 loads per multiply-add, and the stage ran
    // slower. Each conv value is zero, then the taps in (ky, kx) order, then + b and ReLU: the GEMM path's order.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardPlane5x5(float* e, float* o, int s, float* k, float* b, int ph, int pw, float* pooled, byte* codes)
    {
        var epilogue = new Epilogue(b, valuesOnly: codes == null);
        int codeStride = CodeStride(pw);
        for (int j = 0; j < pw; j += 16)
            for (int i = 0; i < ph; i += 4)
            {
                int pooledRows = Math.Min(4, ph - i);
                Vector512<float> e0 = default, o0 = default, e1 = default, o1 = default, e2 = default, o2 = default, e3 = default, o3 = default;
                Vector512<float> e4 = default, o4 = default, e5 = default, o5 = default, e6 = default, o6 = default, e7 = default, o7 = default;
                for (int ky = 0; ky < 5; ky++)
                {
                    float* kr = k + 5 * ky;
                    var w0 = Vector512.Create(kr[0]); var w1 = Vector512.Create(kr[1]); var w2 = Vector512.Create(kr[2]);
                    var w3 = Vector512.Create(kr[3]); var w4 = Vector512.Create(kr[4]);
                    float* re = e + (2L * i + ky) * s + j, ro = o + (2L * i + ky) * s + j;
                    Taps5(re, ro, s, 0, w0, w1, w2, w3, w4, ref e0, ref o0);
                    Taps5(re, ro, s, 1, w0, w1, w2, w3, w4, ref e1, ref o1);
                    if (pooledRows > 1)
                    {
                        Taps5(re, ro, s, 2, w0, w1, w2, w3, w4, ref e2, ref o2);
                        Taps5(re, ro, s, 3, w0, w1, w2, w3, w4, ref e3, ref o3);
                    }
                    if (pooledRows > 2)
                    {
                        Taps5(re, ro, s, 4, w0, w1, w2, w3, w4, ref e4, ref o4);
                        Taps5(re, ro, s, 5, w0, w1, w2, w3, w4, ref e5, ref o5);
                    }
                    if (pooledRows > 3)
                    {
                        Taps5(re, ro, s, 6, w0, w1, w2, w3, w4, ref e6, ref o6);
                        Taps5(re, ro, s, 7, w0, w1, w2, w3, w4, ref e7, ref o7);
                    }
                }
                epilogue.Pool(e0, o0, e1, o1, pw - j, pooled + (long)i * pw + j, codes + (long)i * codeStride + j);
                if (pooledRows > 1) epilogue.Pool(e2, o2, e3, o3, pw - j, pooled + (long)(i + 1) * pw + j, codes + (long)(i + 1) * codeStride + j);
                if (pooledRows > 2) epilogue.Pool(e4, o4, e5, o5, pw - j, pooled + (long)(i + 2) * pw + j, codes + (long)(i + 2) * codeStride + j);
                if (pooledRows > 3) epilogue.Pool(e6, o6, e7, o7, pw - j, pooled + (long)(i + 3) * pw + j, codes + (long)(i + 3) * codeStride + j);
            }
    }

    // Conv row c's five taps of one kernel row (weights w0 … w4 in registers) from padded row c of re/ro (s apart)
    // into an even and an odd conv vector.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Taps5(float* re, float* ro, int s, int c, Vector512<float> w0, Vector512<float> w1, Vector512<float> w2,
        Vector512<float> w3, Vector512<float> w4, ref Vector512<float> even, ref Vector512<float> odd)
    {
        Load5(re + (long)c * s, ro + (long)c * s, out var e0, out var o0, out var e1, out var o1, out var e2, out var o2);
        even = Vector512.FusedMultiplyAdd(w0, e0, even);
        even = Vector512.FusedMultiplyAdd(w1, o0, even);
        even = Vector512.FusedMultiplyAdd(w2, e1, even);
        even = Vector512.FusedMultiplyAdd(w3, o1, even);
        even = Vector512.FusedMultiplyAdd(w4, e2, even);
        odd = Vector512.FusedMultiplyAdd(w0, o0, odd);
        odd = Vector512.FusedMultiplyAdd(w1, e1, odd);
        odd = Vector512.FusedMultiplyAdd(w2, o1, odd);
        odd = Vector512.FusedMultiplyAdd(w3, e2, odd);
        odd = Vector512.FusedMultiplyAdd(w4, o2, odd);
    }

    // E[j], O[j], E[j + 1], O[j + 1], E[j + 2], O[j + 2] of one padded row, 16 columns each: a 5x5 window's
    // five taps for an even conv column are E0, O0, E1, O1, E2, and for an odd one O0, E1, O1, E2, O2 (the
    // 3x3 kernel's Load, two columns wider).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Load5(float* e, float* o, out Vector512<float> e0, out Vector512<float> o0, out Vector512<float> e1,
        out Vector512<float> o1, out Vector512<float> e2, out Vector512<float> o2)
    {
        Load(e, o, out e0, out o0, out e1, out o1);
        e2 = Vector512.Load(e + 2);
        o2 = Vector512.Load(o + 2);
    }

    // One image's output channel: adds its 25 weight sums and its bias sum, lane by lane, to sums[k·16 …].
    // First dz of every conv row, even and odd columns, is rebuilt from dp and the codes into dz (2·PH rows of
    // two CodeStride halves); then kernel rows ky and ky + 1 together meet dz row r with padded rows r + ky and
    // r + ky + 1: ten chains each (five taps, even and odd windows apart), all in L1.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PlaneGradient5x5(float* e, float* o, int s, byte* codes, float* dp, float* dpEnd, int ph, int pw, int codeStride,
        float* dz, float* sums)
    {
        var bias = Vector512.Load(sums + 25 * 16);
        var noGradient = Vector512.Create(NoGradient);
        long dzRow = 2L * codeStride;   // a conv row: its even half, then its odd half
        for (int i = 0; i < ph; i++)
            for (int j = 0; j < pw; j += 16)
            {
                var d = LoadGradients(dp + (long)i * pw + j, pw - j, dpEnd);
                var code = Avx512F.ConvertToVector512Int32(Vector128.Load(codes + (long)i * codeStride + j));
                bias += Vector512.ConditionalSelect(Vector512.LessThan(code, noGradient).AsSingle(), d, Vector512<float>.Zero);
                float* top = dz + 2 * i * dzRow + j;
                Vector512.ConditionalSelect(Vector512.Equals(code, Vector512<int>.Zero).AsSingle(), d, Vector512<float>.Zero).Store(top);
                Vector512.ConditionalSelect(Vector512.Equals(code, Vector512<int>.One).AsSingle(), d, Vector512<float>.Zero).Store(top + codeStride);
                Vector512.ConditionalSelect(Vector512.Equals(code, Vector512.Create(2)).AsSingle(), d, Vector512<float>.Zero).Store(top + dzRow);
                Vector512.ConditionalSelect(Vector512.Equals(code, Vector512.Create(3)).AsSingle(), d, Vector512<float>.Zero)
                    .Store(top + dzRow + codeStride);
            }
        bias.Store(sums + 25 * 16);
        // Two kernel rows per pass (ky, ky + 1): twenty chains, each dz row loaded once for both (a kernel row
        // per pass measured slower).
        for (int ky = 0; ky < 5; ky += 2)
        {
            bool two = ky + 1 < 5;
            float* row = sums + ky * 5 * 16, next = row + 5 * 16;
            Vector512<float> w0 = Vector512.Load(row), w1 = Vector512.Load(row + 16), w2 = Vector512.Load(row + 32),
                w3 = Vector512.Load(row + 48), w4 = Vector512.Load(row + 64);
            Vector512<float> v0 = default, v1 = default, v2 = default, v3 = default, v4 = default;
            Vector512<float> x0 = default, x1 = default, x2 = default, x3 = default, x4 = default;
            Vector512<float> y0 = default, y1 = default, y2 = default, y3 = default, y4 = default;
            if (two)
                (x0, x1, x2, x3, x4) = (Vector512.Load(next), Vector512.Load(next + 16), Vector512.Load(next + 32),
                    Vector512.Load(next + 48), Vector512.Load(next + 64));
            for (int r = 0; r < 2 * ph; r++)
            {
                float* re = e + (long)(r + ky) * s, ro = o + (long)(r + ky) * s;
                for (int j = 0; j < pw; j += 16)
                {
                    var even = Vector512.Load(dz + r * dzRow + j);
                    var odd = Vector512.Load(dz + r * dzRow + codeStride + j);
                    KernelRow(re + j, ro + j, even, odd, ref w0, ref w1, ref w2, ref w3, ref w4, ref v0, ref v1, ref v2, ref v3, ref v4);
                    if (two)
                        KernelRow(re + s + j, ro + s + j, even, odd, ref x0, ref x1, ref x2, ref x3, ref x4, ref y0, ref y1, ref y2, ref y3, ref y4);
                }
            }
            (w0 + v0).Store(row); (w1 + v1).Store(row + 16); (w2 + v2).Store(row + 32); (w3 + v3).Store(row + 48); (w4 + v4).Store(row + 64);
            if (two)
            {
                (x0 + y0).Store(next); (x1 + y1).Store(next + 16); (x2 + y2).Store(next + 32);
                (x3 + y3).Store(next + 48); (x4 + y4).Store(next + 64);
            }
        }
    }

    // One kernel row's weight sums: dz's even columns meet the padded row at taps 0 … 4 (w), its odd ones (v).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void KernelRow(float* re, float* ro, Vector512<float> even, Vector512<float> odd,
        ref Vector512<float> w0, ref Vector512<float> w1, ref Vector512<float> w2, ref Vector512<float> w3, ref Vector512<float> w4,
        ref Vector512<float> v0, ref Vector512<float> v1, ref Vector512<float> v2, ref Vector512<float> v3, ref Vector512<float> v4)
    {
        Load5(re, ro, out var e0, out var o0, out var e1, out var o1, out var e2, out var o2);
        w0 = Vector512.FusedMultiplyAdd(even, e0, w0);
        w1 = Vector512.FusedMultiplyAdd(even, o0, w1);
        w2 = Vector512.FusedMultiplyAdd(even, e1, w2);
        w3 = Vector512.FusedMultiplyAdd(even, o1, w3);
        w4 = Vector512.FusedMultiplyAdd(even, e2, w4);
        v0 = Vector512.FusedMultiplyAdd(odd, o0, v0);
        v1 = Vector512.FusedMultiplyAdd(odd, e1, v1);
        v2 = Vector512.FusedMultiplyAdd(odd, o1, v2);
        v3 = Vector512.FusedMultiplyAdd(odd, e2, v3);
        v4 = Vector512.FusedMultiplyAdd(odd, o2, v4);
    }
}
