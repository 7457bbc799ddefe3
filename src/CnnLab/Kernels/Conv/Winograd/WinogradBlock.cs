using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace CnnLab.Kernels;

// Legend as in Winograd3x3.cs; B images per block, cols = B·T tiles, ldv ≥ cols + a chunk's width floats between rows
// of V. A block's tile rows are numbered r = s·TH + ty over its image slots s; a chunk is ChunkRows of them,
// ChunkRows·TW consecutive tiles.

/// <summary>
/// A block of B images' planes (H x W) through Winograd F(2x2, 3x3) or F(4x4, 3x3) (P = 16 or 36 positions), the layout
/// the forward and the input gradient share: V [K, P, ldv] holds the transformed input tiles of K channels (a channel's P
/// rows together, so each plane's transform writes one contiguous region). The block is then multiplied and
/// transformed back chunk by chunk (<see cref="MultiplyAndTransformOutput"/>): for a chunk of a few tile rows
/// and 8 output planes, M_ξ = U_ξ · V_ξ for the P positions into a small buffer that stays near L1, and the
/// 8 planes' tiles transformed back from it at once. (Multiplying the whole block first, as 16 GEMMs, wrote
/// and read back an M as large as V through L2.) Each tile's sums are the same whatever block or chunk it
/// lands in, so an image's result does not depend on the block.
/// </summary>
internal sealed unsafe partial class WinogradBlock
{
    public readonly int H, W, Tiles, Images, Cols, Ldv;

    /// <summary>
    /// The outputs a tile has on a side (2: F(2x2, 3x3) and F(2x2, 5x5), 4: F(4x4, 3x3)), the kernel's side (3 or 5), and a
    /// tile's transformed positions ((tile + kernel − 1)²: 16 or 36).
    /// </summary>
    public readonly int TileSide, KernelSide, Positions;

    /// <summary>Tile rows per chunk, and the chunk's width in tiles rounded up to the multiply's 48-tile passes.</summary>
    public readonly int ChunkRows, ChunkWidth;

    // Planes of at most 8 x 8: each whole plane's tiles are transformed back at once (Winograd3x3.TransformSmallOutput).
    private readonly bool _small;

    // Planes of 2x2 F(4x4, 3x3) tiles: a block's images are transformed 4 at a time once all are in (WinogradBlock.Tiny.cs).
    private readonly bool _tiny;

    /// <summary>
    /// Blocks of H x W planes, as many images as fit in <paramref name="blockColumns"/> tiles (0: the default), by tiles of
    /// <paramref name="tileSide"/> x <paramref name="tileSide"/> outputs of a <paramref name="kernelSide"/> kernel: F(2x2, 3x3)
    /// (<see cref="Winograd3x3"/>), F(4x4, 3x3) (<see cref="Winograd4x4"/>) or F(2x2, 5x5) (<see cref="Winograd5x5"/>).
    /// <paramref name="channels"/> is the products' depth (input channels forward, output channels for dx; 0: not known),
    /// which the chunk's width takes into account. <paramref name="forward"/>: a forward's block, of
    /// <see cref="ForwardWideBlockColumns"/> by default for tiles of 36 positions.
    /// </summary>
    public WinogradBlock(int h, int w, int blockColumns = 0, int tileSide = 2, int kernelSide = 3, int channels = 0, bool forward = false)
    {
        (H, W, TileSide, KernelSide, Positions) = (h, w, tileSide, kernelSide, PositionsOf(tileSide, kernelSide));
        Tiles = tileSide == 2 ? Winograd3x3.Tiles(h, w) : Winograd4x4.Tiles(h, w);
        int columns = blockColumns > 0 ? blockColumns : forward && Positions != 16 ? ForwardWideBlockColumns
            : DefaultColumns(tileSide, kernelSide);
        Images = Winograd3x3.ImagesPerBlock(Tiles, columns);
        Cols = Images * Tiles;
        (ChunkRows, ChunkWidth) = Chunk((w + tileSide - 1) / tileSide, Positions, channels);
        _small = Positions == 16 && h <= Winograd3x3.SmallSide && w <= Winograd3x3.SmallSide;
        _tiny = tileSide == 4 && Winograd4x4.IsTiny(h, w);
        // Room for the last chunk's passes past Cols, and for the 16-tile writes of the last tile row (up to 15 floats).
        Ldv = (Cols + ChunkWidth + 15) / 16 * 16 + 16;
    }

    /// <summary>
    /// A backward block's tiles by default for tiles of <paramref name="tileSide"/> (0: none) and a kernel of
    /// <paramref name="kernelSide"/>.
    /// </summary>
    internal static int DefaultColumns(int tileSide, int kernelSide) =>
        tileSide == 0 ? 0 : PositionsOf(tileSide, kernelSide) == 16 ? Winograd3x3.BlockColumns : WideBlockColumns;

    /// <summary>
    /// Tiles of one block of F(4x4, 3x3) images: 36 transformed positions a tile, so a block of 512 tiles' V would leave L2
    /// with 16 channels (4 images of 28x28, 196 tiles: 0.5 MB).
    /// </summary>
    internal const int WideBlockColumns = 256;

    /// <summary>
    /// Tiles of one forward block of F(4x4, 3x3) or F(2x2, 5x5) images: half the backward's, whose dx and dW share a block's
    /// images. With its V, the block's x read and y written within L2, the forward ran faster on every shape measured
    /// (bench/RESULTS.md, "What a kernel touches next").
    /// </summary>
    internal const int ForwardWideBlockColumns = WideBlockColumns / 2;

    /// <summary>
    /// A transformed tile's positions, (tile + kernel − 1)², for the variants there are: F(2x2, 3x3), F(4x4, 3x3), F(2x2, 5x5).
    /// </summary>
    internal static int PositionsOf(int tileSide, int kernelSide) => (tileSide, kernelSide) is (2, 3) or (4, 3) or (2, 5)
        ? (tileSide + kernelSide - 1) * (tileSide + kernelSide - 1)
        : throw new ArgumentOutOfRangeException(nameof(tileSide), tileSide, "F(2x2, 3x3), F(4x4, 3x3) or F(2x2, 5x5)");

    /// <summary>
    /// Whether the kernel transforms of this variant (<paramref name="tileSide"/>, <paramref name="kernelSide"/>) and their
    /// gradients run eight kernels a lane each here: F(2x2, 3x3)'s always (Vector256), F(4x4, 3x3)'s and F(2x2, 5x5)'s with AVX-512.
    /// </summary>
    internal static bool KernelsInLanes(int tileSide, int kernelSide) =>
        kernelSide == 5 ? Winograd5x5.TransformsKernelsInLanes : tileSide == 2 || Winograd4x4.TransformsKernelsInLanes;

    /// <summary>The tile side of a Winograd algorithm: 4 for F(4x4, 3x3), 2 for F(2x2, 3x3) and F(2x2, 5x5), 0 for any other.</summary>
    internal static int TileSideOf(ConvAlgorithm algorithm) => algorithm switch
    {
        ConvAlgorithm.Winograd or ConvAlgorithm.Winograd5x5 => 2,
        ConvAlgorithm.Winograd4x4 => 4,
        _ => 0,
    };

    // The chunk for tile rows of tw tiles: whole tile rows in 1 to 3 passes of 48 tiles (14 tiles a row: 3 rows, 42 of
    // 48 lanes), a wider chunk only for clearly fuller lanes (10 points), since each pass adds to the M chunk kept near L1
    // and to the V the chunk's products read from L2; 5 points where that V stays within SmallChunkV.
    private static (int Rows, int Width) Chunk(int tw, int positions, int channels)
    {
        const int lanes = MultiplyColumns;
        if (tw > 3 * lanes) return (1, (tw + lanes - 1) / lanes * lanes);
        (int Rows, int Width) best = default;
        double bestUse = 0;
        for (int passes = 1; passes <= 3; passes++)
        {
            int rows = passes * lanes / tw;
            double use = (double)rows * tw / (passes * lanes);
            double margin = channels > 0 && (long)channels * positions * passes * lanes * sizeof(float) <= SmallChunkV ? 0.05 : 0.1;
            if (rows >= 1 && use > bestUse + margin) (best, bestUse) = ((rows, passes * lanes), use);
        }
        return best;
    }

    /// <summary>
    /// The V a chunk may read (channels × positions × width floats) for a wider chunk to pay from 5 points' fuller lanes:
    /// 16→16 on 28x28 in two passes (13 of 14 lanes) ran 6-9 % faster forward and as dx, 32→32 1-4 %, and 64→64, whose
    /// 885 KB no longer stayed in L2, 8 % slower.
    /// </summary>
    internal const int SmallChunkV = 256 << 10;

    /// <summary>
    /// One thread's V, M chunk and transform scratch; dispose to return them. V and M are pinned while rented and used from
    /// their first 64-byte boundary on (<see cref="VStart"/>, <see cref="MStart"/>), so that rows a multiple of 16 floats
    /// from there are whole cache lines: the weight gradient's products load two rows per multiply-add, and a load that
    /// straddles two lines costs two.
    /// </summary>
    public sealed class Buffers : IDisposable
    {
        internal float[]? Scratch;

        // Tiny planes: the block's input planes [inputs][images][H·W], transformed together (Winograd4x4.TransformTinyInputs).
        internal float[]? Staging;
        private readonly float[] _v;
        private readonly float[]? _m;
        private GCHandle _vPin, _mPin;

        internal Buffers(int vLength, int mLength, int scratchLength, bool kept)
        {
            Kept = kept;
            if (kept)
            {
                // On the pinned object heap, zeroed: no handle to free, and the GC takes them back with their owner.
                GC.SuppressFinalize(this);
                _v = GC.AllocateArray<float>(vLength + 16, pinned: true);
                VStart = Aligned(_v);
                if (mLength > 0)
                {
                    _m = GC.AllocateArray<float>(mLength + 16, pinned: true);
                    MStart = Aligned(_m);
                }
                Scratch = new float[scratchLength];
                return;
            }
            _v = ArrayPool<float>.Shared.Rent(vLength + 16);
            _vPin = GCHandle.Alloc(_v, GCHandleType.Pinned);
            VStart = Aligned(_v);
            if (mLength > 0)
            {
                _m = ArrayPool<float>.Shared.Rent(mLength + 16);
                _mPin = GCHandle.Alloc(_m, GCHandleType.Pinned);
                MStart = Aligned(_m);
            }
            Scratch = ArrayPool<float>.Shared.Rent(scratchLength);
            Array.Clear(Scratch, 0, scratchLength);
        }

        /// <summary>
        /// Whether these buffers belong to one long-lived plan (<see cref="Rent"/>'s <c>kept</c>), which reuses them call after
        /// call; they are never disposed, only dropped with the plan.
        /// </summary>
        internal bool Kept { get; }

        /// <summary>V's first float (64-byte aligned), and the M chunk's (null without one).</summary>
        internal float* VStart { get; }

        internal float* MStart { get; }

        // The array's first 64-byte boundary (the array is pinned: its address does not move).
        private static float* Aligned(float[] pinned) =>
            CacheLines.LineStart((float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinned)));

        public void Dispose()
        {
            if (Scratch is null || Kept) return;
            _vPin.Free();
            ArrayPool<float>.Shared.Return(_v);
            if (_m is not null)
            {
                _mPin.Free();
                ArrayPool<float>.Shared.Return(_m);
            }
            ArrayPool<float>.Shared.Return(Scratch);
            if (Staging is not null) ArrayPool<float>.Shared.Return(Staging);
            Scratch = null;
            GC.SuppressFinalize(this);
        }

        // Buffers never disposed (a caller that threw past its using) would otherwise keep their arrays pinned for good.
        ~Buffers()
        {
            if (_vPin.IsAllocated) _vPin.Free();
            if (_mPin.IsAllocated) _mPin.Free();
        }
    }

    // M's last position's reads run up to 15 floats past a chunk (TransformOutput reads 16 tiles at a time).
    /// <summary>
    /// Buffers for <paramref name="inputs"/> transformed channels; <paramref name="multiply"/>: with the M chunk;
    /// <paramref name="kept"/>: allocated for one owner to use call after call (see <see cref="Buffers.Kept"/>).
    /// </summary>
    public Buffers Rent(int inputs, bool multiply = true, bool kept = false)
    {
        // Sized before allocating: a block too large for one array is an error that says so, not an overflowed length.
        long vLength = (long)Positions * inputs * Ldv + 16;
        if (vLength > Array.MaxLength)
            throw new ArgumentException($"a Winograd block of {inputs} channels of {H}x{W} planes needs {vLength} floats, more than one array holds");
        var b = new Buffers((int)vLength, multiply ? WinogradWeights.BlockRows * Positions * ChunkWidth + 16 : 0,
            Winograd3x3.ScratchLength(H, W), kept);
        // The last chunk's lanes past the block's tiles multiply whatever V holds after them: zero there, not a subnormal
        // or NaN left in the pool (their results are never stored). The weight gradient reads no further than its tiles.
        // Nothing writes those columns, so kept buffers, zero when made, stay zero there.
        if (multiply && !kept)
            for (long row = 0; row < (long)Positions * inputs; row++) new Span<float>(b.VStart + row * Ldv + Cols, Ldv - Cols).Clear();
        if (_tiny && multiply)   // the weight gradient transforms its planes itself
        {
            int staging = inputs * Images * H * W;
            b.Staging = kept ? new float[staging] : ArrayPool<float>.Shared.Rent(staging);
        }
        return b;
    }

    /// <summary>
    /// Transforms one image's <paramref name="channels"/> planes (consecutive, H·W floats each) into V's
    /// channels first … first + channels − 1, image slot <paramref name="slot"/>.
    /// </summary>
    public void TransformInput(Buffers b, float* planes, int channels, int first, int slot)
    {
        if (_tiny)
        {
            Stage(b, planes, channels, first, slot);
            return;
        }
        float* v = b.VStart;
        fixed (float* scratch = b.Scratch)
            for (int c = 0; c < channels; c++)
            {
                if (c + 1 < channels) CacheLines.Prefetch(planes + (c + 1L) * H * W, (long)H * W);
                TransformPlane(planes + (long)c * H * W, scratch, v + (long)Positions * (first + c) * Ldv + slot * Tiles);
            }
    }

    /// <summary>
    /// V_ξ of one plane x [H, W] by this block's variant, tile t's value for ξ at to[ξ·Ldv + t] (<see cref="Winograd3x3.TransformInput"/>,
    /// with its <paramref name="scratch"/>, or <see cref="WinogradPatches.TransformInput"/>).
    /// </summary>
    internal void TransformPlane(float* x, float* scratch, float* to)
    {
        if (Positions == 16) Winograd3x3.TransformInput(x, H, W, scratch, to, Ldv);
        else WinogradPatches.TransformInput(x, H, W, to, Ldv, TileSide);
    }

    /// <summary>
    /// The block's <paramref name="count"/> images' output planes from V's channels first … first + K − 1 with group
    /// <paramref name="group"/> of <paramref name="u"/> (R rows, K columns): M_ξ = U_ξ · V_ξ, then plane r of slot s,
    /// y + s·<paramref name="imageStride"/> + r·H·W, (+)= act(Aᵀ·M·A + bias[r]) (see <see cref="Winograd3x3.TransformOutput"/>;
    /// bias null: none). Chunk by chunk, 8 planes at a time: their M chunk is made and used while in L1. <paramref name="ahead"/>:
    /// the planes the caller transforms next, asked for a share per position while the products run.
    /// </summary>
    public void MultiplyAndTransformOutput(Buffers b, WinogradWeights u, int group, int first, int count,
        float* y, long imageStride, float* bias, bool relu, bool accumulate, RegionStream ahead = default)
    {
        if (u.Positions != Positions) throw new ArgumentException($"weights of {u.Positions} positions for tiles of {Positions}", nameof(u));
        int side = TileSide, th = (H + side - 1) / side, tw = (W + side - 1) / side, rows = count * th, k = u.K;
        int block = WinogradWeights.BlockRows, positions = Positions;
        long vChannel = (long)positions * Ldv;
        float* v = b.VStart + vChannel * first, m = b.MStart;
        if (_tiny) TransformStaged(b, first, k, count);
        if (count < Images && !b.Kept)
        {
            // A short block: the slots after its images hold an earlier block's tiles, or whatever the pool left there (a
            // subnormal or a NaN, slow to multiply). Zero what its last chunk reads there: its width is its tiles rounded up to
            // a vector, so at most 15 floats past them. Kept buffers were zeroed when allocated and since hold only transformed
            // inputs: their lanes there are multiplied as they are (each lane is its own tile, and those lanes' results are never
            // stored).
            int used = count * Tiles, length = Math.Min(16, Ldv - used);
            for (long row = 0; row < (long)positions * k; row++) new Span<float>(v + row * Ldv + used, length).Clear();
        }
        int asks = ahead.PerAsk((long)(rows + ChunkRows - 1) / ChunkRows * u.RowBlocks * positions);
        var call = new Call(v, u, group, rows, th, tw, y, imageStride, bias, relu, accumulate);
        // A single image's blocks of output channels go to the threads where that pays (each with its own M chunk; what the
        // caller reads next is then not asked for).
        long blockWork = (long)block * positions * k * rows * tw;
        if (ThreadSplit.Pays(u.RowBlocks, blockWork, out int minChunk))
        {
            SplitRowBlocks(call, minChunk);
            return;
        }
        fixed (float* pu = u.Data)
            for (int r0 = 0; r0 < rows; r0 += ChunkRows)
                for (int rb = 0; rb < u.RowBlocks; rb++) RowBlock(call, pu, m, rb, r0, ref ahead, asks);
    }

    // Spans [share·n / shares, (share + 1)·n / shares) of the n in `rows`, asked for into L1 (CacheLines.Prefetch).
    private static void AskFor(in OutputRows rows, int share, int shares)
    {
        for (int span = rows.Spans * share / shares; span < rows.Spans * (share + 1) / shares; span++)
        {
            float* start = rows.Span(span, out long floats);
            CacheLines.Prefetch(start, floats);
        }
    }

    /// <summary>
    /// The rows of the output planes [H, W] (one per channel, images <paramref name="imageStride"/> floats apart) that a chunk of
    /// tile rows <paramref name="r0"/> … <paramref name="rEnd"/> − 1 (images of <paramref name="tileRows"/> each, tiles
    /// <paramref name="side"/> outputs high) writes for output channels <paramref name="oFirst"/> … <paramref name="oEnd"/> − 1:
    /// one span per channel and image, channel by channel.
    /// </summary>
    internal readonly unsafe struct OutputRows(float* y, long imageStride, int h, int w, int side, int oFirst, int oEnd, int r0, int rEnd,
        int tileRows)
    {
        private int FirstImage => r0 / tileRows;
        private int Images => (rEnd + tileRows - 1) / tileRows - FirstImage;

        public int Spans => (oEnd - oFirst) * Images;

        /// <summary>Where span <paramref name="i"/> starts, and its length.</summary>
        public float* Span(int i, out long floats)
        {
            int o = oFirst + i / Images, s = FirstImage + i % Images;
            int top = s * tileRows, first = Math.Max(r0, top) - top, end = Math.Min(rEnd, top + tileRows) - top;
            floats = Math.Min((long)(end - first) * side, h - (long)first * side) * w;
            return y + s * imageStride + ((long)o * h + (long)first * side) * w;
        }
    }
}
