using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

/// <summary>
/// The row moves of im2col and col2im at stride 2: dst[i] = src[2i] (every other input column into a column-matrix
/// row) and its adjoint dst[2i] += src[i]. With AVX-512 each 16 outputs take two masked loads and one two-source
/// permute (vpermt2ps) instead of 16 scalar moves, the last partial 16 too (the masks keep every access inside the
/// spans); the scatter stores the even lanes alone, so the values are those of the scalar loops, bit for bit.
/// <see cref="Interleave"/> merges two phases back into a row, <see cref="InterleaveRows"/> many rows (reading past each
/// phase row, which its callers' scratch allows), and <see cref="Col2ImPointwise"/> is col2im of a 1x1 kernel at stride 2.
/// </summary>
internal static class StrideTwoRows
{
    internal static readonly Vector512<int> Evens = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    // Source lanes 0..7 (8..15) to the even lanes of the first (second) vector; odd lanes are never stored.
    private static readonly Vector512<int> LowToEvens = Vector512.Create(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    private static readonly Vector512<int> HighToEvens = Vector512.Create(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
    private static readonly Vector512<int> EvenLanes = Vector512.Create(-1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0);

    /// <summary>dst[i] = src[2i] for i &lt; dst.Length (src holds at least 2·dst.Length − 1 floats).</summary>
    public static unsafe void Gather(ReadOnlySpan<float> src, Span<float> dst)
    {
        int n = dst.Length;
        if (n == 0) return;
        if (src.Length < 2 * n - 1) throw new ArgumentException($"stride-2 gather of {n} needs {2 * n - 1} floats, has {src.Length}");
        fixed (float* s = src, d = dst)
        {
            if (!Avx512F.IsSupported)
            {
                for (int j = 0; j < n; j++) d[j] = s[2 * j];
                return;
            }
            for (int i = 0; i < n; i += 16)
            {
                int reads = Math.Min(32, 2 * (n - i) - 1);
                var lo = Avx512F.MaskLoad(s + 2 * i, LaneMask.First(Math.Min(16, reads)).AsSingle(), Vector512<float>.Zero);
                var hi = Avx512F.MaskLoad(s + 2 * i + 16, LaneMask.First(reads - 16).AsSingle(), Vector512<float>.Zero);
                var even = Avx512F.PermuteVar16x32x2(lo, Evens, hi);
                if (n - i >= 16) Vector512.Store(even, d + i);
                else Avx512F.MaskStore(d + i, LaneMask.First(n - i).AsSingle(), even);
            }
        }
    }

    /// <summary>dst[2i] += src[i] for i &lt; src.Length (dst holds at least 2·src.Length − 1 floats).</summary>
    public static unsafe void ScatterAdd(ReadOnlySpan<float> src, Span<float> dst)
    {
        int n = src.Length;
        if (n == 0) return;
        if (dst.Length < 2 * n - 1) throw new ArgumentException($"stride-2 scatter of {n} needs {2 * n - 1} floats, has {dst.Length}");
        fixed (float* s = src, d = dst)
        {
            if (!Avx512F.IsSupported)
            {
                for (int j = 0; j < n; j++) d[2 * j] += s[j];
                return;
            }
            for (int i = 0; i < n; i += 16)
            {
                int count = Math.Min(16, n - i);
                var v = Avx512F.MaskLoad(s + i, LaneMask.First(count).AsSingle(), Vector512<float>.Zero);
                // Even lanes 2k of the first vector for k < count (at most 8), of the second for 8 ≤ k < count.
                var loMask = (EvenLanes & LaneMask.First(2 * count - 1)).AsSingle();
                var hiMask = (EvenLanes & LaneMask.First(2 * count - 17)).AsSingle();
                float* at = d + 2 * i;
                var low = Avx512F.MaskLoad(at, loMask, Vector512<float>.Zero) + Avx512F.PermuteVar16x32(v, LowToEvens);
                var high = Avx512F.MaskLoad(at + 16, hiMask, Vector512<float>.Zero) + Avx512F.PermuteVar16x32(v, HighToEvens);
                Avx512F.MaskStore(at, loMask, low);
                Avx512F.MaskStore(at + 16, hiMask, high);
            }
        }
    }

    /// <summary>
    /// col2im of a 1x1 kernel at stride (SH, 2) without padding, a shortcut's projection: image[c, oy·SH, 2·ox] (+)=
    /// col[c·stride + oy·OW + ox]; every other pixel is zeroed (left as it is with <paramref name="accumulate"/>). A column
    /// row spreads into the even lanes of its image row, the other rows are cleared: the general loop's values, bit for bit,
    /// with none of the phase buffers whose short rows cost the general phased col2im more than its GEMM.
    /// </summary>
    public static unsafe void Col2ImPointwise(ReadOnlySpan<float> col, int c, int h, int w, int sh, int oh, int ow, Span<float> image,
        int stride, bool accumulate)
    {
        if (!MapsPointwise(h, w, sh, oh, ow))
            throw new ArgumentException($"a 1x1 kernel at stride ({sh}, 2) maps {h}x{w} to {(h - 1) / sh + 1}x{(w + 1) / 2}, not {oh}x{ow}");
        fixed (float* pCol = col, pImage = image)
            for (int ci = 0; ci < c; ci++)
            {
                float* plane = pImage + (long)ci * h * w, rows = pCol + (long)ci * stride;
                for (int y = 0; y < h; y++)
                {
                    float* dst = plane + (long)y * w;
                    if (y % sh != 0)
                    {
                        if (!accumulate) new Span<float>(dst, w).Clear();
                        continue;
                    }
                    float* src = rows + (long)(y / sh) * ow;
                    if (accumulate) ScatterAdd(new ReadOnlySpan<float>(src, ow), new Span<float>(dst, w));
                    else Spread(src, dst, w);
                }
            }
    }

    /// <summary>Whether a 1x1 kernel at stride (<paramref name="sh"/>, 2) without padding maps h x w to oh x ow.</summary>
    public static bool MapsPointwise(int h, int w, int sh, int oh, int ow) => ow == (w + 1) / 2 && oh == (h - 1) / sh + 1;

    // dst[2i] = 0 + src[i], dst[2i + 1] = 0 for the n floats of dst (as on a cleared row: −0 becomes +0).
    private static unsafe void Spread(float* src, float* dst, int n)
    {
        if (!Avx512F.IsSupported)
        {
            for (int i = 0; i < n; i++) dst[i] = (i & 1) == 0 ? 0f + src[i >> 1] : 0f;
            return;
        }
        var zero = Vector512<float>.Zero;
        for (int x = 0; x < n; x += 16)
        {
            int left = n - x;
            if (left >= 16)
            {
                var v = Avx512F.PermuteVar16x32x2(Vector256.Load(src + x / 2).ToVector512Unsafe(), Interleaved, zero);
                Vector512.Store(zero + v, dst + x);
                continue;
            }
            var e = Avx512F.MaskLoad(src + x / 2, LaneMask.First((left + 1) / 2).AsSingle(), zero);
            Avx512F.MaskStore(dst + x, LaneMask.First(left).AsSingle(), zero + Avx512F.PermuteVar16x32x2(e, Interleaved, zero));
        }
    }

    private static readonly Vector512<int> Interleaved = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);

    /// <summary>
    /// even[i] = src[2i] and odd[i] = src[2i + 1] for the n floats of each of <paramref name="rows"/> rows (src's rows
    /// <paramref name="srcStride"/> floats apart, even's and odd's <paramref name="dstStride"/>): rows split into their two column
    /// phases, the inverse of <see cref="Interleave"/>. 32 floats give 16 of each by two two-source permutes; a row's last partial
    /// 32 goes through masks made once for all rows (every access inside src's n, even's ⌈n/2⌉ and odd's ⌊n/2⌋ floats of a row,
    /// so a padded plane's border around the phases stays as it is).
    /// </summary>
    public static unsafe void SplitRows(float* src, int n, int rows, long srcStride, float* even, float* odd, long dstStride)
    {
        if (!Avx512F.IsSupported)
        {
            for (int r = 0; r < rows; r++)
                for (int i = 0; i < n; i++) ((i & 1) == 0 ? even : odd)[r * dstStride + (i >> 1)] = src[r * srcStride + i];
            return;
        }
        var odds = Evens + Vector512<int>.One;
        int whole = n / 32 * 32, left = n - whole;
        Vector512<float> loMask = LaneMask.First(left).AsSingle(), hiMask = LaneMask.First(left - 16).AsSingle();
        Vector512<float> evenMask = LaneMask.First((left + 1) / 2).AsSingle(), oddMask = LaneMask.First(left / 2).AsSingle();
        for (int r = 0; r < rows; r++, src += srcStride, even += dstStride, odd += dstStride)
        {
            for (int x = 0; x < whole; x += 32)
            {
                Vector512<float> lo = Vector512.Load(src + x), hi = Vector512.Load(src + x + 16);
                Vector512.Store(Avx512F.PermuteVar16x32x2(lo, Evens, hi), even + x / 2);
                Vector512.Store(Avx512F.PermuteVar16x32x2(lo, odds, hi), odd + x / 2);
            }
            if (left == 0) continue;
            var a = Avx512F.MaskLoad(src + whole, loMask, Vector512<float>.Zero);
            var b = left > 16 ? Avx512F.MaskLoad(src + whole + 16, hiMask, Vector512<float>.Zero) : Vector512<float>.Zero;
            Avx512F.MaskStore(even + whole / 2, evenMask, Avx512F.PermuteVar16x32x2(a, Evens, b));
            Avx512F.MaskStore(odd + whole / 2, oddMask, Avx512F.PermuteVar16x32x2(a, odds, b));
        }
    }

    /// <summary>
    /// Plane x [h, w] into the inside of a zero-bordered padded plane whose rows (<paramref name="rowStride"/> floats apart,
    /// <paramref name="firstRow"/> the one that takes x's row 0) are kept as two column phases of <paramref name="phase"/>
    /// floats: padded column c + pw, so input column c goes to phase (c + pw) mod 2 at (c + pw) / 2 (<see cref="SplitRows"/>;
    /// the border is left as it is).
    /// </summary>
    public static unsafe void SplitIntoPhases(float* x, int h, int w, int pw, float* firstRow, int phase, long rowStride)
    {
        int evens = pw % 2;
        SplitRows(x, w, h, w, firstRow + evens * phase + pw / 2, firstRow + (1 - evens) * phase + (pw + 1) / 2, rowStride);
    }

    /// <summary>
    /// dst[2i] (+)= even[i] and dst[2i + 1] (+)= odd[i] for the n floats of dst (added with <paramref name="accumulate"/>,
    /// else written): two column phases merged back into a row, 16 outputs from 8 + 8 floats by one two-source permute,
    /// the last partial 16 through masks (every access inside even's ⌈n/2⌉, odd's ⌊n/2⌋ and dst's n floats). Inlined: a
    /// short row (16x16 planes) cost less than the call.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Interleave(float* even, float* odd, float* dst, int n, bool accumulate)
    {
        if (!Avx512F.IsSupported)
        {
            for (int i = 0; i < n; i++)
            {
                float v = ((i & 1) == 0 ? even : odd)[i >> 1];
                dst[i] = accumulate ? dst[i] + v : v;
            }
            return;
        }
        for (int x = 0; x < n; x += 16)
        {
            int left = n - x;
            if (left >= 16)
            {
                StoreOrAdd(Interleaved8(even + x / 2, odd + x / 2), dst + x, accumulate);
                continue;
            }
            var e = Avx512F.MaskLoad(even + x / 2, LaneMask.First((left + 1) / 2).AsSingle(), Vector512<float>.Zero);
            var o = Avx512F.MaskLoad(odd + x / 2, LaneMask.First(left / 2).AsSingle(), Vector512<float>.Zero);
            var tail = Avx512F.PermuteVar16x32x2(e, Interleaved, o);
            var mask = LaneMask.First(left).AsSingle();
            Avx512F.MaskStore(dst + x, mask, accumulate ? Avx512F.MaskLoad(dst + x, mask, Vector512<float>.Zero) + tail : tail);
        }
    }

    /// <summary>
    /// <see cref="Interleave"/> for <paramref name="rows"/> rows: dst's row a (<paramref name="dstStride"/> floats apart) from
    /// even's and odd's rows a (their strides apart). A row's last partial 16 is read by whole 8-float loads, so up to 8 floats
    /// past each even and odd row must be readable (the phase scratches keep 16 spare floats), and stored through a mask made
    /// once for all rows: a 14-wide dx row took three masks, two masked loads and a masked store, one merge in five of a
    /// strided input gradient's time.
    /// </summary>
    public static unsafe void InterleaveRows(float* even, int evenStride, float* odd, int oddStride, float* dst, long dstStride,
        int rows, int n, bool accumulate)
    {
        if (!Avx512F.IsSupported)
        {
            for (int a = 0; a < rows; a++) Interleave(even + (long)a * evenStride, odd + (long)a * oddStride, dst + a * dstStride, n, accumulate);
            return;
        }
        int full = n & ~15, left = n - full;
        var mask = LaneMask.First(left).AsSingle();
        for (int a = 0; a < rows; a++, even += evenStride, odd += oddStride, dst += dstStride)
        {
            for (int x = 0; x < full; x += 16) StoreOrAdd(Interleaved8(even + x / 2, odd + x / 2), dst + x, accumulate);
            if (left == 0) continue;
            var tail = Interleaved8(even + full / 2, odd + full / 2);
            Avx512F.MaskStore(dst + full, mask, accumulate ? Avx512F.MaskLoad(dst + full, mask, Vector512<float>.Zero) + tail : tail);
        }
    }

    // The 8 floats at even and the 8 at odd in turn: even[0], odd[0], even[1], odd[1], … (one two-source permute).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector512<float> Interleaved8(float* even, float* odd) =>
        Avx512F.PermuteVar16x32x2(Vector256.Load(even).ToVector512Unsafe(), Interleaved, Vector256.Load(odd).ToVector512Unsafe());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreOrAdd(Vector512<float> v, float* dst, bool accumulate) =>
        Vector512.Store(accumulate ? Vector512.Load(dst) + v : v, dst);
}
