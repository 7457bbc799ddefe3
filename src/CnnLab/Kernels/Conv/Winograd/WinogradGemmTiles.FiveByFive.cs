using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

// Legend as in Winograd5x5.cs: tile (ty, tx) reads the 6x6 patch at rows 2ty − 2 … 2ty + 3, columns likewise; ξ = 6i + j.

internal readonly unsafe partial struct WinogradGemmTiles
{
    /// <summary>
    /// F(2x2, 5x5)'s V_ξ = (Bᵀ·d·B)_ξ (<see cref="Winograd5x5"/>'s transforms: Bᵀ is F(4x4, 3x3)'s, rows [4 0 −5 0 1 0],
    /// [0 −4 −4 1 1 0], [0 4 −4 −1 1 0], [0 −2 −1 2 1 0], [0 2 −1 −2 1 0], [0 4 0 −5 0 1]), as <see cref="TransformInput"/> writes
    /// F(2x2, 3x3)'s. A tile's six columns are E[j], O[j], E[j + 1], O[j + 1], E[j + 2], O[j + 2] of the split plane
    /// (E[r, j] = x[r − 2, 2j − 2], O[r, j] = x[r − 2, 2j − 1]); Bᵀ runs down them into a staging of 36 vectors, then across.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void TransformInput5x5(float* x, float* split, float* v, long xiStride)
    {
        int s = _splitStride, th = (_h + 1) / 2;
        Split(x, split, out float* e, out float* o);
        var t = stackalloc Vector256<float>[36];
        for (int ty = 0; ty < th; ty++)
        {
            float* re = e + 2L * ty * s, ro = o + 2L * ty * s, dst = v + (long)ty * _tw;
            for (int tx = 0; tx < _tw; tx += Lanes)
            {
                for (int j = 0; j < 6; j++)
                {
                    float* column = (j % 2 == 0 ? re : ro) + tx + j / 2;
                    Bt(Vector256.Load(column), Vector256.Load(column + s), Vector256.Load(column + 2 * s), Vector256.Load(column + 3 * s),
                        Vector256.Load(column + 4 * s), Vector256.Load(column + 5 * s),
                        out t[j], out t[6 + j], out t[12 + j], out t[18 + j], out t[24 + j], out t[30 + j]);
                }
                for (int i = 0; i < 6; i++)
                {
                    float* row = dst + tx + 6L * i * xiStride;
                    Bt(t[6 * i], t[6 * i + 1], t[6 * i + 2], t[6 * i + 3], t[6 * i + 4], t[6 * i + 5],
                        out var u0, out var u1, out var u2, out var u3, out var u4, out var u5);
                    u0.Store(row);
                    u1.Store(row + xiStride);
                    u2.Store(row + 2 * xiStride);
                    u3.Store(row + 3 * xiStride);
                    u4.Store(row + 4 * xiStride);
                    u5.Store(row + 5 * xiStride);
                }
            }
        }
    }

    // Bᵀ·(d0 … d5), the sums shared as in Winograd4x4's input transform.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Bt(Vector256<float> d0, Vector256<float> d1, Vector256<float> d2, Vector256<float> d3, Vector256<float> d4,
        Vector256<float> d5, out Vector256<float> r0, out Vector256<float> r1, out Vector256<float> r2, out Vector256<float> r3,
        out Vector256<float> r4, out Vector256<float> r5)
    {
        var four = Vector256.Create(4f);
        var five = Vector256.Create(5f);
        var p = d4 - four * d2;
        var q = d3 - four * d1;
        var u = d4 - d2;
        var w = (d3 - d1) * 2f;
        r0 = four * d0 - five * d2 + d4;
        (r1, r2, r3, r4) = (p + q, p - q, u + w, u - w);
        r5 = four * d1 - five * d3 + d5;
    }

    /// <summary>
    /// F(2x2, 5x5)'s output: Y = Aᵀ·m·A with Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 1], then as <see cref="TransformOutput"/> stores it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void TransformOutput5x5(float* m, long xiStride, float* y, float bias, bool relu, bool accumulate)
    {
        int th = (_h + 1) / 2;
        var b = Vector256.Create(bias);
        var top = stackalloc Vector256<float>[6];
        var bottom = stackalloc Vector256<float>[6];
        for (int ty = 0; ty < th; ty++)
            for (int tx = 0; tx < _tw; tx += Lanes)
            {
                float* at = m + (long)ty * _tw + tx;
                for (int j = 0; j < 6; j++)
                    At(Vector256.Load(at + j * xiStride), Vector256.Load(at + (6 + j) * xiStride), Vector256.Load(at + (12 + j) * xiStride),
                        Vector256.Load(at + (18 + j) * xiStride), Vector256.Load(at + (24 + j) * xiStride),
                        Vector256.Load(at + (30 + j) * xiStride), out top[j], out bottom[j]);
                int valid = Math.Min(2 * Lanes, _w - 2 * tx);
                float* row = y + 2L * ty * _w + 2 * tx;
                At(top[0], top[1], top[2], top[3], top[4], top[5], out var y00, out var y01);
                StoreRow(row, y00, y01, valid, b, relu, accumulate);
                if (2 * ty + 1 < _h)
                {
                    At(bottom[0], bottom[1], bottom[2], bottom[3], bottom[4], bottom[5], out var y10, out var y11);
                    StoreRow(row + _w, y10, y11, valid, b, relu, accumulate);
                }
            }
    }

    // Aᵀ·(m0 … m5).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void At(Vector256<float> m0, Vector256<float> m1, Vector256<float> m2, Vector256<float> m3, Vector256<float> m4,
        Vector256<float> m5, out Vector256<float> y0, out Vector256<float> y1)
    {
        y0 = m0 + m1 + m2 + m3 + m4;
        y1 = m1 - m2 + (m3 - m4) * 2f + m5;
    }

    /// <summary>
    /// F(2x2, 5x5)'s output gradient for dW: A·dY·Aᵀ of each tile's 2x2 gradients (A's rows (1, 0), (1, 1), (1, −1), (1, 2),
    /// (1, −2), (0, 1)), as <see cref="TransformOutputGradient"/> writes F(2x2, 3x3)'s. With padding 2 the split holds dy's even
    /// columns in E and its odd ones in O from [1], row r at r + 2.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void TransformOutputGradient5x5(float* dy, float* split, float* d, long xiStride)
    {
        int s = _splitStride, th = (_h + 1) / 2;
        Split(dy, split, out float* e, out float* o);
        for (int ty = 0; ty < th; ty++)
        {
            float* re = e + (2L * ty + 2) * s + 1, ro = o + (2L * ty + 2) * s + 1, dst = d + (long)ty * _tw;
            for (int tx = 0; tx < _tw; tx += Lanes)
            {
                Vector256<float> top0 = Vector256.Load(re + tx), top1 = Vector256.Load(ro + tx);
                Vector256<float> bottom0 = Vector256.Load(re + s + tx), bottom1 = Vector256.Load(ro + s + tx);
                var twice0 = bottom0 * 2f;
                var twice1 = bottom1 * 2f;
                Spread(dst + tx, xiStride, 0, top0, top1);
                Spread(dst + tx, xiStride, 1, top0 + bottom0, top1 + bottom1);
                Spread(dst + tx, xiStride, 2, top0 - bottom0, top1 - bottom1);
                Spread(dst + tx, xiStride, 3, top0 + twice0, top1 + twice1);
                Spread(dst + tx, xiStride, 4, top0 - twice0, top1 - twice1);
                Spread(dst + tx, xiStride, 5, bottom0, bottom1);
            }
        }
    }

    // Row i of A·Y·Aᵀ from row i of A·Y, (a, b): (a, a + b, a − b, a + 2b, a − 2b, b) at positions 6i … 6i + 5.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Spread(float* dst, long xiStride, int i, Vector256<float> a, Vector256<float> b)
    {
        float* row = dst + 6L * i * xiStride;
        var twice = b * 2f;
        a.Store(row);
        (a + b).Store(row + xiStride);
        (a - b).Store(row + 2 * xiStride);
        (a + twice).Store(row + 3 * xiStride);
        (a - twice).Store(row + 4 * xiStride);
        b.Store(row + 5 * xiStride);
    }
}
