using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// The weight gradient's dY turned round (16 output channels of a pixel side by side, as the kernels multiply them), and the
// weights and their gradient turned between [OC, R] and blocks of 16 output channels.
internal sealed unsafe partial class ChannelBlockedConv
{
    /// <summary>dyT [P, 16] = the 16 rows of dy [16, P] turned round, 8 pixels at a time.</summary>
    private static void Transpose(float* dy, int p, float* dyT)
    {
        int i = 0;
        for (; i + Block <= p; i += Block)
            LoadTransposed(dy + i, p, dyT + (long)i * Lanes);
        for (; i < p; i++)
            for (int o = 0; o < Lanes; o++)
                dyT[(long)i * Lanes + o] = dy[(long)o * p + i];
    }

    /// <summary>
    /// dyT [P, 16] of the block of 16 output channels from <paramref name="o0"/>: <see cref="Transpose"/> where it is whole, else its
    /// rows before the group's last output turned round with zeros in the lanes past them (a padded block's).
    /// </summary>
    private void TransposeBlock(float* dy, int o0, float* dyT)
    {
        int p = _g.ColCols, valid = Math.Min(Lanes, _g.OC - o0);
        dy += (long)o0 * p;
        if (valid == Lanes)
        {
            Transpose(dy, p, dyT);
            return;
        }
        float* rows = stackalloc float[Lanes * Block];   // 16 rows of 8 pixels, those past `valid` zero
        new Span<float>(rows, Lanes * Block).Clear();
        int i = 0;
        for (; i + Block <= p; i += Block)
        {
            for (int o = 0; o < valid; o++) Vector256.Load(dy + (long)o * p + i).Store(rows + o * Block);
            LoadTransposed(rows, Block, dyT + (long)i * Lanes);
        }
        for (; i < p; i++)
            for (int o = 0; o < Lanes; o++)
                dyT[(long)i * Lanes + o] = o < valid ? dy[(long)o * p + i] : 0;
    }

    /// <summary>
    /// The inverse of <see cref="StoreTransposed"/>: 8 floats of each of 16 rows <paramref name="stride"/> apart,
    /// stored as 8 vectors of 16 (to[i·16 + o] = from[o·stride + i]). Rows o and o + 8 share a vector, so one
    /// 8x8 transpose by unpacks and shuffles turns both halves; then lanes are moved into place.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LoadTransposed(float* from, long stride, float* to)
    {
        Vector512<float> z0 = Rows(from, 0, stride), z1 = Rows(from, 1, stride), z2 = Rows(from, 2, stride), z3 = Rows(from, 3, stride);
        Vector512<float> z4 = Rows(from, 4, stride), z5 = Rows(from, 5, stride), z6 = Rows(from, 6, stride), z7 = Rows(from, 7, stride);
        TransposeInLanes(z0, z1, z2, z3, z4, z5, z6, z7,
            out var l0, out var h0, out var l1, out var h1, out var l2, out var h2, out var l3, out var h3);
        StorePixels(l0, h0, to);
        StorePixels(l1, h1, to + Lanes);
        StorePixels(l2, h2, to + 2 * Lanes);
        StorePixels(l3, h3, to + 3 * Lanes);
    }

    // Row o's 8 floats in the low half, row o + 8's in the high half.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Rows(float* from, int o, long stride) =>
        Vector512.Create(Vector256.Load(from + o * stride), Vector256.Load(from + (o + 8) * stride));

    // low: rows 0–3 of pixel m (lanes 0, 2) and m + 4 (lanes 1, 3), rows 8–11 in lanes 2 and 3; high: rows 4–7 and 12–15.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StorePixels(Vector512<float> low, Vector512<float> high, float* to)
    {
        var first = Avx512F.Shuffle4x128(low, high, 0x88);
        var second = Avx512F.Shuffle4x128(low, high, 0xDD);
        Avx512F.Shuffle4x128(first, first, 0xD8).Store(to);
        Avx512F.Shuffle4x128(second, second, 0xD8).Store(to + 4 * Lanes);
    }

    /// <summary>
    /// Wᵀ by blocks of 16 output channels: packed[(o / 16)·R + k][o % 16] = w[o, k] (R per group; each group's channels
    /// fill whole blocks, so group g's blocks start at g·OCg·R; one group's last block may be padded with zeros). 16 x 16
    /// blocks turned in registers (prepared on every training step: value by value, a 64→128 3x3 layer's took 156 µs).
    /// </summary>
    public void PackWeights(ReadOnlySpan<float> w, Span<float> packed)
    {
        int r = _g.ColRows;
        if (w.Length < _allOutputs * r || packed.Length < PackedLength) throw new ArgumentException($"{_allOutputs * r} weights");
        fixed (float* pw = w, pp = packed)
            for (int block = 0; block < PackedLength / r / Lanes; block++)
            {
                float* rows = pw + (long)block * Lanes * r, taps = pp + (long)block * r * Lanes;
                int k = 0, valid = Math.Min(Lanes, _allOutputs - block * Lanes);
                if (valid == Lanes)
                    for (; k + Lanes <= r; k += Lanes) Transpose16.Block(rows + k, r, taps + (long)k * Lanes, Lanes);
                for (; k < r; k++)
                    for (int l = 0; l < Lanes; l++) taps[(long)k * Lanes + l] = l < valid ? rows[(long)l * r + k] : 0;
            }
    }

    /// <summary>
    /// dw [OC, R] += the partial of <see cref="AddWeightGradient"/> (all groups; <see cref="PackedLength"/> floats) put back in
    /// order, 16 x 16 at a time; a padded block's lanes past the outputs are left out.
    /// </summary>
    public void AddToWeights(ReadOnlySpan<float> partial, Span<float> dw)
    {
        int r = _g.ColRows;
        if (partial.Length < PackedLength || dw.Length < _allOutputs * r) throw new ArgumentException($"{_allOutputs * r} weights");
        float* turned = stackalloc float[Lanes * Lanes];
        fixed (float* pp = partial, pw = dw)
            for (int block = 0; block < PackedLength / r / Lanes; block++)
            {
                float* taps = pp + (long)block * r * Lanes, rows = pw + (long)block * Lanes * r;
                int k = 0, valid = Math.Min(Lanes, _allOutputs - block * Lanes);
                if (valid < Lanes)
                {
                    for (; k < r; k++)
                        for (int l = 0; l < valid; l++) rows[(long)l * r + k] += taps[(long)k * Lanes + l];
                    continue;
                }
                for (; k + Lanes <= r; k += Lanes)
                {
                    Transpose16.Block(taps + (long)k * Lanes, Lanes, turned, Lanes);
                    for (int l = 0; l < Lanes; l++)
                    {
                        float* row = rows + (long)l * r + k;
                        (Vector512.Load(row) + Vector512.Load(turned + l * Lanes)).Store(row);
                    }
                }
                for (; k < r; k++)
                    for (int l = 0; l < Lanes; l++) rows[(long)l * r + k] += taps[(long)k * Lanes + l];
            }
    }
}
