using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend: a plane H x W (W ≤ 64, ≤ 32 for S = 2); tiles S = 4 (F(4x4, 3x3), padding 1) or 2 (F(2x2, 5x5), padding 2) outputs
// apart, TH = ⌈H/S⌉ rows of TW = ⌈W/S⌉ tiles; tile (ty, tx) reads the 6x6 input patch at rows S·ty − P … S·ty − P + 5
// (P = (6 − S) / 2), columns likewise. ξ = 6i + j names one of the 36 positions of a transformed tile.

/// <summary>
/// The 6x6 input patches of Winograd's F(4x4, 3x3) and F(2x2, 5x5), which share their interpolation points (0, ±1, ±2, ∞)
/// and so their input transform Bᵀ·d·B, Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0;
/// 0 4 0 −5 0 1] (Lavin &amp; Gray 2016): a plane's patches gathered into the tiles' lanes, several tile rows a vector, and
/// transformed (<see cref="Winograd4x4"/>, <see cref="Winograd5x5"/>). Written by hand: no .NET library has Winograd convolution.
/// </summary>
[SkipLocalsInit]
internal static unsafe class WinogradPatches
{
    /// <summary>The widest plane: a row in four vectors (tiles 4 apart; 2 apart, at most <see cref="MaxNarrowTileWidth"/>).</summary>
    public const int MaxWidth = 64;

    /// <summary>The widest plane for tiles 2 apart: one tile row in a vector.</summary>
    public const int MaxNarrowTileWidth = 32;

    /// <summary>
    /// Tile rows one vector of tiles holds: as many as fill it (⌊16 / TW⌋), at most 4 for planes up to 16 wide, 2 up to 32
    /// and 1 wider. Lane l holds tile row l / TW's tile l % TW, so that the 16 consecutive tiles a vector stores are its tile
    /// rows' tiles in order.
    /// </summary>
    internal static int RowsPerVector(int w, int side) => Math.Clamp(16 / ((w + side - 1) / side), 1, w <= 16 ? 4 : w <= 32 ? 2 : 1);

    /// <summary>
    /// Per plane width and tile side S (padding P = (6 − S) / 2), the gathers of a vector of tile rows: for each column b = 0 … 5
    /// of a tile's patch, the float each lane reads from its input rows (column S·tx − P + b; a column outside the plane reads
    /// a float known to be zero, or, for planes 16 or 32 wide that have none, is cleared by <see cref="Inside"/>), and which
    /// lanes take the second permute. Planes up to 16 wide hold a row in one vector, and one permute of two rows serves two
    /// tile rows (lanes of odd tile rows read the second operand); up to 32 wide a row in two vectors, one permute per tile
    /// row; wider (one tile row a vector) a row in four, columns from 32 on by the second permute.
    /// </summary>
    internal sealed class Columns
    {
        public readonly Vector512<int>[] Index = new Vector512<int>[6];
        public readonly Vector512<float>[] Inside = new Vector512<float>[6];
        public readonly Vector512<float>[] Second = new Vector512<float>[6];
        public readonly bool Exact;

        /// <summary><see cref="WinogradPatches.RowsPerVector"/> and <see cref="WinogradPatches.VectorsPerRow"/> of the width, kept.</summary>
        public readonly int RowsPerVector, VectorsPerRow;

        public Columns(int w, int side)
        {
            int tw = (w + side - 1) / side, k = WinogradPatches.RowsPerVector(w, side), pad = (6 - side) / 2;
            (RowsPerVector, VectorsPerRow) = (k, WinogradPatches.VectorsPerRow(w));
            bool narrow = w <= 16, wider = w > 32;
            Exact = w is 16 or 32 or 64;
            int zeroLane = narrow ? 15 : 31;
            Span<int> index = stackalloc int[16], inside = stackalloc int[16], second = stackalloc int[16];
            for (int b = 0; b < 6; b++)
            {
                for (int l = 0; l < 16; l++)
                {
                    int j = l / tw, c = side * (l % tw) - pad + b;
                    bool within = j < k && c >= 0 && c < w;
                    int at = within ? c : wider ? 63 : zeroLane;
                    (index[l], inside[l]) = (narrow && j % 2 == 1 ? at + 16 : at % 32, within ? -1 : 0);
                    second[l] = (narrow ? j >= 2 : wider ? at >= 32 : j >= 1) ? -1 : 0;
                }
                (Index[b], Inside[b]) = (Vector512.Create(index), Vector512.Create(inside).AsSingle());
                Second[b] = Vector512.Create(second).AsSingle();
            }
        }
    }

    private static readonly Columns?[] s_columns = new Columns?[2 * (MaxWidth + 1)];

    // Made once per width and tile side, 2 or 4 (a benign race: two threads may both make it, with the same contents).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Columns ColumnsOf(int w, int side) => s_columns[(side / 4) * (MaxWidth + 1) + w] ??= new Columns(w, side);

    /// <summary>
    /// V_ξ = (Bᵀ·d·B)_ξ of every tile of one plane x [H, W], tiles <paramref name="side"/> apart (4: F(4x4, 3x3), padding 1;
    /// 2: F(2x2, 5x5), padding 2): tile t's value for position ξ goes to v[ξ·xiStride + t].
    /// Writes run 16 tiles at a time in increasing t, zero past the tiles they hold, and may spill up to 15 floats past the
    /// plane's last tile (which later writes or the block's padding take). A vector holds <see cref="RowsPerVector"/> tile
    /// rows. Bᵀ· goes first, on whole input rows: each tile row's six rows combine into six rows of Bᵀ·d (<see cref="DownRows"/>),
    /// before any gather, so that the gathers, ·B and the stores run once per row of the result (<see cref="AcrossAndStore"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void TransformInput(float* x, int h, int w, float* v, long xiStride, int side)
    {
        if ((uint)(w - 1) >= MaxWidth) throw new ArgumentOutOfRangeException(nameof(w), w, $"planes 1 to {MaxWidth} wide");
        if (side is not (2 or 4)) throw new ArgumentOutOfRangeException(nameof(side), side, "tiles 2 or 4 apart");
        if (side == 2 && w > MaxNarrowTileWidth)
            throw new ArgumentOutOfRangeException(nameof(w), w, $"tiles 2 apart on planes 1 to {MaxNarrowTileWidth} wide");
        var columns = ColumnsOf(w, side);
        int th = (h + side - 1) / side, tw = (w + side - 1) / side, k = columns.RowsPerVector, pad = (6 - side) / 2;
        int perRow = columns.VectorsPerRow;
        // [row i of Bᵀ·d][slot: tile row j · perRow + vector q of its row][16 lanes], 64-byte aligned.
        float* buffer = stackalloc float[6 * 64 + 16];
        float* u = CacheLines.LineStart(buffer);
        for (int ty0 = 0; ty0 < th; ty0 += k)
        {
            int rows = Math.Min(k, th - ty0);
            for (int j = 0; j < rows; j++)
                for (int q = 0; q < perRow; q++)
                    DownRows(x, side * (ty0 + j) - pad, h, w, 16 * q, u + 16 * (j * perRow + q));
            ClearSlots(u, rows * perRow);
            AcrossAndStore(u, columns.Index, columns.Second, columns.Exact ? columns.Inside : null, v + ty0 * tw, xiStride);
        }
    }

    /// <summary>
    /// Vectors an input row takes in a row-combined buffer (four slots of 16 lanes for each of six rows): 1 for planes up to 16
    /// wide, 2 up to 32, 4 wider; a tile row j's vector q is slot j · VectorsPerRow + q.
    /// </summary>
    internal static int VectorsPerRow(int w) => w <= 16 ? 1 : w <= 32 ? 2 : 4;

    /// <summary>Zeroes slots <paramref name="first"/> … 3 of a row-combined buffer's six rows: the lanes of tile rows past the plane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void ClearSlots(float* u, int first)
    {
        for (int slot = first; slot < 4; slot++)
            for (int i = 0; i < 6; i++) Vector512<float>.Zero.Store(u + 64 * i + 16 * slot);
    }

    /// <summary>
    /// Rows i = 0 … 5 of Bᵀ·d for the six input rows r … r + 5 of x, floats from … from + 15 of each (zero outside the plane
    /// and past w), to u + 64i.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DownRows(float* x, int r, int h, int w, int from, float* u)
    {
        Vector512<float> d0, d1, d2, d3, d4, d5;
        if (r >= 0 && (long)(h - r - 5) * w - from >= 16)
        {
            // All six whole loads stay inside the plane; lanes past w are masked off.
            var mask = LaneMask.First(w - from).AsSingle();
            float* at = x + (long)r * w + from;
            d0 = Vector512.Load(at) & mask;
            d1 = Vector512.Load(at + w) & mask;
            d2 = Vector512.Load(at + 2 * w) & mask;
            d3 = Vector512.Load(at + 3 * w) & mask;
            d4 = Vector512.Load(at + 4 * w) & mask;
            d5 = Vector512.Load(at + 5 * w) & mask;
        }
        else
        {
            Row(x, r, h, w, from, out d0);
            Row(x, r + 1, h, w, from, out d1);
            Row(x, r + 2, h, w, from, out d2);
            Row(x, r + 3, h, w, from, out d3);
            Row(x, r + 4, h, w, from, out d4);
            Row(x, r + 5, h, w, from, out d5);
        }
        Down(d0, d1, d2, d3, d4, d5, out var e0, out var e1, out var e2, out var e3, out var e4, out var e5);
        StoreSix(u, 64, e0, e1, e2, e3, e4, e5);
    }

    /// <summary>
    /// For each row i of Bᵀ·d in u (<see cref="DownRows"/>'s layout, four slots of 16 lanes): its six patch columns gathered
    /// into the tiles' lanes (from slots 0, 1, or 2, 3 for the lanes of <paramref name="second"/>; cleared outside the plane
    /// by <paramref name="inside"/> where given), transformed across (·B) and stored at dst + (6i + j)·xiStride.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void AcrossAndStore(float* u, Vector512<int>[] index, Vector512<float>[] second, Vector512<float>[]? inside,
        float* dst, long xiStride)
    {
        Vector512<int> i0 = index[0], i1 = index[1], i2 = index[2], i3 = index[3], i4 = index[4], i5 = index[5];
        Vector512<float> s0 = second[0], s1 = second[1], s2 = second[2], s3 = second[3], s4 = second[4], s5 = second[5];
        for (int i = 0; i < 6; i++)
        {
            float* row = u + 64 * i;
            Vector512<float> p0 = Vector512.Load(row), p1 = Vector512.Load(row + 16), p2 = Vector512.Load(row + 32);
            var p3 = Vector512.Load(row + 48);
            var d0 = Gather(p0, p1, p2, p3, i0, s0);
            var d1 = Gather(p0, p1, p2, p3, i1, s1);
            var d2 = Gather(p0, p1, p2, p3, i2, s2);
            var d3 = Gather(p0, p1, p2, p3, i3, s3);
            var d4 = Gather(p0, p1, p2, p3, i4, s4);
            var d5 = Gather(p0, p1, p2, p3, i5, s5);
            if (inside != null)
            {
                (d0, d1, d2) = (d0 & inside[0], d1 & inside[1], d2 & inside[2]);
                (d3, d4, d5) = (d3 & inside[3], d4 & inside[4], d5 & inside[5]);
            }
            Down(d0, d1, d2, d3, d4, d5, out var e0, out var e1, out var e2, out var e3, out var e4, out var e5);
            StoreSix(dst + 6 * i * xiStride, xiStride, e0, e1, e2, e3, e4, e5);
        }
    }

    // One patch column of every lane: from (p0, p1) for the first lanes, (p2, p3) for those of Second.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Gather(Vector512<float> p0, Vector512<float> p1, Vector512<float> p2, Vector512<float> p3,
        Vector512<int> index, Vector512<float> second) =>
        Vector512.ConditionalSelect(second, Avx512F.PermuteVar16x32x2(p2, index, p3), Avx512F.PermuteVar16x32x2(p0, index, p1));

    // Floats from..from + 15 of row r of x, zero past w and outside the plane: a whole load where it stays inside the plane.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Row(float* x, int r, int h, int w, int from, out Vector512<float> v)
    {
        var zero = Vector512<float>.Zero;
        if ((uint)r >= (uint)h || from >= w)
        {
            v = zero;
            return;
        }
        float* at = x + (long)r * w + from;
        var mask = LaneMask.First(w - from).AsSingle();
        v = (long)(h - r) * w - from >= 16 ? Vector512.Load(at) & mask : Avx512F.MaskLoad(at, mask, zero);
    }

    // Bᵀ·d: (4d0 − 5d2 + d4, (d3 + d4) − 4(d1 + d2), (d4 − d3) + 4(d1 − d2), (d4 − d2) + 2(d3 − d1), (d4 − d2) − 2(d3 − d1),
    // 4d1 − 5d3 + d5).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Down(Vector512<float> d0, Vector512<float> d1, Vector512<float> d2, Vector512<float> d3, Vector512<float> d4,
        Vector512<float> d5, out Vector512<float> r0, out Vector512<float> r1, out Vector512<float> r2, out Vector512<float> r3,
        out Vector512<float> r4, out Vector512<float> r5)
    {
        Vector512<float> four = Vector512.Create(4f), five = Vector512.Create(-5f), two = Vector512.Create(2f);
        r0 = Vector512.FusedMultiplyAdd(five, d2, Vector512.FusedMultiplyAdd(four, d0, d4));
        r1 = Vector512.FusedMultiplyAdd(-four, d1 + d2, d3 + d4);
        r2 = Vector512.FusedMultiplyAdd(four, d1 - d2, d4 - d3);
        r3 = Vector512.FusedMultiplyAdd(two, d3 - d1, d4 - d2);
        r4 = Vector512.FusedMultiplyAdd(-two, d3 - d1, d4 - d2);
        r5 = Vector512.FusedMultiplyAdd(five, d3, Vector512.FusedMultiplyAdd(four, d1, d5));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void StoreSix(float* p, long stride, Vector512<float> r0, Vector512<float> r1, Vector512<float> r2, Vector512<float> r3,
        Vector512<float> r4, Vector512<float> r5)
    {
        r0.Store(p);
        r1.Store(p + stride);
        r2.Store(p + 2 * stride);
        r3.Store(p + 3 * stride);
        r4.Store(p + 4 * stride);
        r5.Store(p + 5 * stride);
    }
}
