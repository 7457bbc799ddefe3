using System.Buffers;

namespace CnnLab.Kernels;

// Legend: as Conv2dKernel. dY_g [OCg, P] one image's output gradient for group g, from a ConvOutputGradient.

/// <summary>
/// One convolution's backward over a batch: dx, dW and db by the algorithms <see cref="ConvPlanner"/> chose for
/// them, except depthwise (its own kernel). The batch is cut into fixed chunks taken dynamically by the threads; a
/// chunk walks its images one at a time, takes each image's dY_g from the gradient source while it is in cache, and
/// hands it to the weight-gradient strategy and to the input-gradient strategy:
/// <list type="bullet">
/// <item>dW: Winograd (dU per chunk, turned into dW at the end; by GEMMs where AVX-512 is missing), channel-blocked direct, or
/// dW_g += dY_g · col_gᵀ (dot products when R is small).</item>
/// <item>dx: channel-blocked direct (strided), output-row direct (stride 1, as a forward on dy), Winograd (dY's tiles
/// collected by blocks of images; by GEMMs where AVX-512 is missing), dcol = W_gᵀ · dY_g of several small images in one
/// GEMM, or one image at a time (then col2im).</item>
/// </list>
/// Each chunk accumulates its own dW partial in image order and the partials are summed in chunk order, so dW is the
/// same for any thread count; db sums per (image, channel) in the chunk, then over images in order, the order of
/// <see cref="Conv2dKernel.BackwardBias"/>.
/// </summary>
internal sealed unsafe partial class ConvBackwardPass
{
    // How many partial weight gradients the batch is cut into (independent of the thread count, so dW is the same for
    // any); 16 so that with 2 threads the last chunk is a small share of the loop (see Parallelism.For), 8 where each
    // partial holds more than LargePartial floats: clearing and summing sixteen of them then cost more than that share
    // (one thread, batch 128, dW alone: 64->128 3x3 stride 2 on 16x16 6.02 -> 5.79 ms, Winograd's 64->64 on 16x16 5.45-5.60
    // -> 5.23-5.31, 64->128 on 8x8 4.08-4.15 -> 3.73-3.79; 16->16 on 28x28 and 32->64 stride 2 on 32x32 no faster). 2 (one
    // per core) where a partial holds more than HugePartial floats (2 MB, past L2): clearing, filling and summing eight of
    // them was most of such a dW (dW alone, one thread: Winograd's 256->256 on 8x8 33.6 -> 23.1 ms, 128->128 on 8x8 6.6-7.2
    // -> 5.4-5.5, 384->384 on 2x2 10.9 -> 8.2; two threads 29.6-33.1 -> 16.0-18.1).
    internal const int WeightGradientChunks = 16, LargePartialChunks = 8, LargePartial = 1 << 16;
    internal const int HugePartialChunks = 2, HugePartial = 1 << 19;

    internal static int WeightGradientChunksFor(int images, long partialLength) => Math.Min(images,
        partialLength > HugePartial ? HugePartialChunks : partialLength > LargePartial ? LargePartialChunks : WeightGradientChunks);

    // Column matrices with at most this many rows take the dot-product path for dW (a 1-channel input: R = 9 or 25,
    // where the GEMM's tiles would be mostly padding).
    private const int SmallRows = 32;

    private readonly Conv2dGeometry _g;
    private readonly ConvOutputGradient _source;
    private readonly bool _needDx, _needDw, _needDb, _overwriteDx, _maskDx, _addsToDx, _groupByGroup;
    private readonly BatchNormGradientSums? _inputSums;
    private readonly WinogradBlock? _block, _winogradDx;
    private readonly WinogradWeightGradient? _winogradDw;
    private readonly ChannelBlockedInputGradient[]? _directDx;   // one per group
    private readonly OutputRowInputGradient? _rowsDx;
    private readonly WinogradGemm? _gemmDx;
    private readonly WinogradGemmWeightGradient? _gemmDw;
    private readonly ChannelBlockedConv? _directDw;
    private readonly int _dxImages, _dxStride, _blockImages, _partialLength, _chunks;
    private readonly Gemm.PackedA[] _packedWT;
    private readonly WinogradWeights? _winogradWT;
    private readonly float[][] _partials;
    private readonly float[] _rowSums;

    /// <summary>
    /// The backward of <paramref name="g"/> by <paramref name="plan"/>'s algorithms; Winograd's blocks of images fill
    /// <paramref name="winogradBlockColumns"/> GEMM columns (0: the default). <paramref name="maskDx"/> (with an overwritten
    /// dx): each image's dx, once complete, is masked by [x &gt; 0] while x and dx are in cache (x a ReLU's output, see
    /// Tensor.PremaskedFor). <paramref name="addsToDx"/> (with an overwritten dx): <see cref="Run"/>'s dxAddend is added to
    /// each image first; <paramref name="inputSums"/> (with the mask): the batch norm's gradient sums are then taken from it.
    /// </summary>
    public ConvBackwardPass(in Conv2dGeometry g, ReadOnlySpan<float> w, ConvOutputGradient source, ConvPlan plan,
        bool needDx, bool needDw, bool needDb, bool overwriteDx, int winogradBlockColumns = 0, bool maskDx = false, bool addsToDx = false,
        BatchNormGradientSums? inputSums = null)
    {
        _g = g;
        _source = source;
        (_needDx, _needDw, _needDb, _overwriteDx) = (needDx, needDw, needDb, overwriteDx);
        _maskDx = maskDx && needDx && overwriteDx;
        _addsToDx = addsToDx && needDx && overwriteDx;
        _inputSums = _maskDx ? inputSums : null;
        _inputSums?.CheckInputOf(g);
        int p = g.ColCols;
        // Winograd's tiles for dW (_block) and dx: one block where both take the same size.
        int dwSide = needDw ? WinogradBlock.TileSideOf(plan.WeightGradient) : 0;
        int dxSide = needDx ? WinogradBlock.TileSideOf(plan.InputGradient) : 0;
        // Winograd's blocks with groups, a group at a time (RunBlocksByGroup): every group's planes then take the same place in
        // the transform buffers, which stay in L2 from one group to the next.
        _groupByGroup = RunsByGroup(g, needDx, needDw, dwSide, dxSide);
        int columns = winogradBlockColumns > 0 ? winogradBlockColumns : BlockColumns(g, _groupByGroup, dwSide, dxSide);
        _block = dwSide > 0 ? new WinogradBlock(g.H, g.W, columns, dwSide, g.KH, g.OCg) : null;
        _winogradDx = dxSide == 0 ? null
            : dxSide == dwSide ? _block : new WinogradBlock(g.H, g.W, columns, dxSide, g.KH, g.OCg);
        _directDx = needDx && plan.InputGradient == ConvAlgorithm.ChannelBlocked ? ChannelBlockedInputGradient.PerGroup(g, w) : null;
        _rowsDx = needDx && plan.InputGradient == ConvAlgorithm.OutputRows ? new OutputRowInputGradient(g, w) : null;
        _gemmDx = needDx && plan.InputGradient == ConvAlgorithm.WinogradGemm
            ? new WinogradGemm(g, w, inputGradient: true, winogradBlockColumns) : null;
        _gemmDw = needDw && plan.WeightGradient == ConvAlgorithm.WinogradGemm ? new WinogradGemmWeightGradient(g, winogradBlockColumns) : null;
        // dx of small planes by blocks of images: dY of several images side by side in one GEMM (a 100-column product
        // alone ends in a mostly empty 48-column panel), then col2im image by image. The same sums per element.
        bool direct = _winogradDx is not null || _directDx is not null || _rowsDx is not null || _gemmDx is not null;
        _dxImages = needDx && _block is null && !direct && !g.IsPointwise && g.G == 1 ? DxBlockImages(p) : 1;
        int dxColumns = _dxImages * p;
        _dxStride = Conv2dKernel.RowStride(dxColumns);
        _packedWT = !needDx || direct ? []
            : Conv2dKernel.PackWeights(g, w, transpose: true, dxColumns);
        _winogradWT = _winogradDx is null ? null : new WinogradWeights(g, w, inputGradient: true, _winogradDx.TileSide);
        _winogradDw = _block is null ? null : new WinogradWeightGradient(g, _block, _groupByGroup);
        _directDw = needDw && plan.WeightGradient == ConvAlgorithm.ChannelBlocked ? new ChannelBlockedConv(g) : null;
        _partialLength = _winogradDw?.TransformedLength ?? _gemmDw?.TransformedLength ?? _directDw?.PackedLength ?? g.OC * g.ColRows;
        // dx's F(4x4, 3x3) block and dW's F(2x2, 3x3) one take the same slots: a block ends when the smaller is full (both
        // hold a power of two of images).
        _blockImages = Math.Min(Math.Min(_block?.Images ?? int.MaxValue, _winogradDx?.Images ?? int.MaxValue),
            Math.Min(_gemmDx?.ImagesPerBlock ?? int.MaxValue, _gemmDw?.ImagesPerBlock ?? int.MaxValue));
        if (_blockImages == int.MaxValue) _blockImages = _dxImages;
        // Several chunks per thread let a core the host steals for a while hold up only one. Without dW, a chunk per
        // block of images.
        _chunks = needDw ? WeightGradientChunksFor(g.N, _partialLength) : (g.N + _blockImages - 1) / _blockImages;
        _partials = needDw ? new float[_chunks][] : [];
        // Pooled, not allocated per call: the training step then allocates (almost) nothing.
        _rowSums = needDb ? ArrayPool<float>.Shared.Rent(g.N * g.OC) : [];
    }

    /// <summary>
    /// Whether the backward runs group by group (<see cref="RunBlocksByGroup"/>): with groups, where each pass asked for is
    /// Winograd's (tiles of <paramref name="dwSide"/> for dW, <paramref name="dxSide"/> for dx; 0: not Winograd).
    /// </summary>
    internal static bool RunsByGroup(in Conv2dGeometry g, bool needDx, bool needDw, int dwSide, int dxSide) =>
        g.G > 1 && (needDx || needDw) && (!needDx || dxSide > 0) && (!needDw || dwSide > 0);

    /// <summary>
    /// Tiles a Winograd block of the backward takes (0: no Winograd pass): the default, or fewer where the block's transformed
    /// planes (dW's of x and dY, dx's of dY; a group's where <paramref name="byGroup"/>) would take more than
    /// <see cref="WinogradBlockBytes"/>. Blocks of 64 channels and more on 8x8 or 16x16 planes went out to L3 and back.
    /// </summary>
    internal static int BlockColumns(in Conv2dGeometry g, bool byGroup, int dwSide, int dxSide)
    {
        if (dwSide == 0 && dxSide == 0) return 0;
        int inputs = byGroup ? g.Cg : g.C, outputs = byGroup ? g.OCg : g.OC;
        long bytes = 0;
        if (dwSide > 0) bytes += (long)WinogradBlock.PositionsOf(dwSide, g.KH) * (inputs + outputs) * sizeof(float);
        if (dxSide > 0) bytes += (long)WinogradBlock.PositionsOf(dxSide, g.KH) * outputs * sizeof(float);
        int most = Math.Max(WinogradBlock.DefaultColumns(dwSide, g.KH), WinogradBlock.DefaultColumns(dxSide, g.KH));
        return (int)Math.Clamp(WinogradBlockBytes / bytes, 1, most);
    }

    /// <summary>
    /// The most a backward's Winograd block holds transformed: half as much again as L2 (1 MB a core on the Zen 4 measured), the
    /// best of the block sizes timed on 7 shapes (8x8 to 28x28, 16 to 128 channels) held 0.9 to 1.8 MB.
    /// </summary>
    internal const long WinogradBlockBytes = 3L << 19;

    // Images whose dY go into one GEMM for dx: the largest power of two with at most 512 columns (so that a chunk of
    // 8 or 4 images splits into whole blocks), 1 for planes of more than 256 pixels.
    internal static int DxBlockImages(int pixels)
    {
        int images = 1;
        while (images * 2 * pixels <= 512 && images < 8) images *= 2;
        return images;
    }

    /// <summary>Images a block of the chunks takes (Winograd's, or dx's GEMM's; 1 for none).</summary>
    internal int BlockImages => _blockImages;

    /// <summary>Whether the chunks mask dx by [x &gt; 0] (asked for, with an overwritten dx).</summary>
    public bool MasksDx => _maskDx;

    /// <summary>Whether the chunks add <see cref="Run"/>'s dxAddend to dx (given, with an overwritten dx), before any mask.</summary>
    public bool AddsToDx => _addsToDx;

    /// <summary>Whether the chunks take the batch norm's gradient sums from each masked image of dx (given, with the mask).</summary>
    public bool SumsInput => _inputSums is not null;

    /// <summary>Runs every chunk, then adds dW and db (dx was written by the chunks).</summary>
    public void Run(ReadOnlySpan<float> x, Span<float> dx, Span<float> dw, Span<float> db, ReadOnlySpan<float> dxAddend = default)
    {
        if (_addsToDx && dxAddend.Length < dx.Length) throw new ArgumentException($"dxAddend has {dxAddend.Length} elements, needs {dx.Length}");
        fixed (float* px = x, pdx = dx, padd = dxAddend)
        {
            nint xs = (nint)px, dxs = (nint)pdx, adds = (nint)padd;
            Parallelism.For(_chunks, 1, (cs, ce) =>
            {
                using var buffers = new ChunkBuffers(this);
                for (int chunk = cs; chunk < ce; chunk++) RunChunk(chunk, buffers, (float*)xs, (float*)dxs, (float*)adds);
            });
        }
        // (Not returned if the loop throws: the pool then just makes new buffers.)
        foreach (var packed in _packedWT) packed.Dispose();
        _winogradWT?.Dispose();
        _rowsDx?.Dispose();
        _gemmDx?.Dispose();
        if (_needDb) AddBias(db);
        if (_needDw) AddWeights(dw);
    }

    private void RunChunk(int chunk, ChunkBuffers b, float* x, float* dx, float* dxAddend)
    {
        var g = _g;
        float[]? partial = null;
        if (_needDw)
        {
            partial = _partials[chunk] = ArrayPool<float>.Shared.Rent(_partialLength);
            Array.Clear(partial, 0, _partialLength);
        }
        int n0 = (int)((long)chunk * g.N / _chunks), n1 = (int)((long)(chunk + 1) * g.N / _chunks);
        if (_groupByGroup)
        {
            RunBlocksByGroup(b, x, dx, dxAddend, n0, n1, partial);
            return;
        }
        int blockStart = n0, runStart = n0, p = g.ColCols;   // read once: a division the JIT does not move out of the loops
        for (int n = n0; n < n1; n++)
        {
            for (int grp = 0; grp < g.G; grp++)
            {
                long xOff = ((long)n * g.C + grp * g.Cg) * g.H * g.W;
                var dyg = OutputGradient(b, n, grp);
                if (partial is not null && _directDw is { RunImages: > 1 })
                    runStart = AddToRun(b, x, dyg, n, runStart, n1, partial);
                else if (partial is not null)
                    AddWeightGradient(b, x + xOff, dyg, grp, n - blockStart, partial, NextReads(n, grp, n1, x + xOff));
                if (_needDx)
                {
                    float* nextDx = grp + 1 < g.G ? dx + xOff + (long)g.Cg * g.H * g.W : n + 1 < n1 ? dx + (n + 1L) * g.C * g.H * g.W : null;
                    AddInputGradient(b, dx, xOff, dyg, n, grp, n - blockStart, nextDx);
                }
            }
            // A full block, or the chunk's last images: dx of the block's images from their dY, and their tiles'
            // share of dU.
            if (n - blockStart + 1 == _blockImages || n == n1 - 1)
            {
                FinishBlock(b, dx, blockStart, n - blockStart + 1, partial);
                if (_addsToDx || _maskDx) FinishInputGradient(x, dx, dxAddend, blockStart, n + 1);
                blockStart = n + 1;
            }
        }
    }

    // Image n's output gradient for group grp from the source, and its planes' sums for db.
    private ReadOnlySpan<float> OutputGradient(ChunkBuffers b, int n, int grp)
    {
        var g = _g;
        int p = g.ColCols;
        var dyg = _source.ForImage(n, grp, b.Scratch.AsSpan(0, g.OCg * p + 16));
        if (_needDb)
            for (int o = 0; o < g.OCg; o++)
                _rowSums[n * g.OC + grp * g.OCg + o] = TensorPrimitives.Sum(dyg.Slice(o * p, p));
        return dyg;
    }

    // Winograd's blocks with groups, a group at a time: its images' transforms, then its products while they are in L2. Image by
    // image, every group's transformed planes of a block (several MB with 64 channels on 32x32) went out to L3 and came back.
    // Each group's dU, dx and db are its own, summed in image order as before: the same bits. Every group's planes take the
    // buffers' first channels (DxFirstChannel, WinogradWeightGradient's places).
    private void RunBlocksByGroup(ChunkBuffers b, float* x, float* dx, float* dxAddend, int n0, int n1, float[]? partial)
    {
        var g = _g;
        for (int blockStart = n0; blockStart < n1; blockStart += _blockImages)
        {
            int count = Math.Min(_blockImages, n1 - blockStart);
            for (int grp = 0; grp < g.G; grp++)
            {
                for (int n = blockStart; n < blockStart + count; n++)
                {
                    long xOff = ((long)n * g.C + grp * g.Cg) * g.H * g.W;
                    var dyg = OutputGradient(b, n, grp);
                    if (partial is not null) AddWeightGradient(b, x + xOff, dyg, grp, n - blockStart, partial, default);
                    if (_needDx) AddInputGradient(b, dx, xOff, dyg, n, grp, n - blockStart, null);
                }
                FinishGroup(b, dx, blockStart, count, grp, partial);
            }
            if (_addsToDx || _maskDx) FinishInputGradient(x, dx, dxAddend, blockStart, blockStart + count);
        }
    }

    // Image n (one group) into the direct dW's run that started at runStart, and the run through the kernels once it is full or
    // the chunk ends; returns where the next run starts.
    private int AddToRun(ChunkBuffers b, float* x, ReadOnlySpan<float> dyg, int n, int runStart, int chunkEnd, float[] partial)
    {
        long image = (long)_g.C * _g.H * _g.W;
        fixed (float* dys = dyg, sums = partial, transposed = b.DyTransposed, pad = b.Padded)
        {
            _directDw!.CollectWeightGradient(n - runStart, x + n * image, dys, transposed, pad);
            int images = n - runStart + 1;
            if (images < _directDw.RunImages && n + 1 < chunkEnd) return runStart;
            _directDw.AddWeightGradientRun(images, x + runStart * image, sums, transposed, pad, NextReads(n, 0, chunkEnd, x + n * image),
                Math.Min(_directDw.RunImages, chunkEnd - n - 1));
        }
        return n + 1;
    }

    // dx = addend + dx (the engine's sum, operands in its order), then dx·[x > 0] (the ReLU's backward, with the same kernel), then
    // the batch norm's sums from it, as asked, for images n0 … n1 − 1, whose dx is complete and in cache.
    private void FinishInputGradient(float* x, float* dx, float* addend, int n0, int n1)
    {
        for (int n = n0; n < n1; n++) FinishImage(_g, n, x, dx, _addsToDx ? addend : null, _maskDx, _inputSums);
    }

    /// <summary>
    /// Image n's dx, once complete: + the addend (unless null), then ·[x &gt; 0] with <paramref name="mask"/>, then the batch
    /// norm's sums from it (unless null): what every kernel that finishes dx in cache does, so that all give the same bits.
    /// </summary>
    internal static void FinishImage(in Conv2dGeometry g, int n, float* x, float* dx, float* addend, bool mask, BatchNormGradientSums? sums)
    {
        long image = (long)g.C * g.H * g.W;
        var gradient = new Span<float>(dx + n * image, (int)image);
        if (addend != null) TensorPrimitives.Add(new ReadOnlySpan<float>(addend + n * image, (int)image), gradient, gradient);
        if (mask) ReluKernel.BackwardOnThisThread(new ReadOnlySpan<float>(x + n * image, (int)image), gradient, gradient);
        sums?.AddImage(n, dx + n * image);
    }

    // What this chunk reads after image n's group grp (the next group's x and dY, or the next image's), which the direct dW and
    // Winograd's ask for as they run.
    private ChannelBlockedConv.Upcoming NextReads(int n, int grp, int chunkEnd, float* xg)
    {
        if ((_directDw is null && _winogradDw is null) || (grp + 1 == _g.G && n + 1 == chunkEnd)) return default;
        (int nextImage, int nextGroup) = grp + 1 < _g.G ? (n, grp + 1) : (n + 1, 0);
        _source.Reads(nextImage, nextGroup, out float* first, out float* second);
        return new(xg + (long)_g.Cg * _g.H * _g.W, first, second);
    }

    private void AddWeightGradient(ChunkBuffers b, float* xg, ReadOnlySpan<float> dyg, int grp, int slot, float[] partial,
        ChannelBlockedConv.Upcoming next)
    {
        var g = _g;
        int r = g.ColRows, p = g.ColCols;
        if (_winogradDw is not null)
        {
            _winogradDw.AddImage(b.WinogradDw!, grp, xg, dyg, slot, next);
            return;
        }
        if (_gemmDw is not null)
        {
            _gemmDw.AddImage(b.WinogradGemmDw!, grp, xg, dyg, slot);
            return;
        }
        if (_directDw is not null)
        {
            fixed (float* dys = dyg, sums = partial, transposed = b.DyTransposed, pad = b.Padded)
                _directDw.AddWeightGradient(xg, dys, sums + (long)grp * g.OCg * r, transposed, pad, next);
            return;
        }
        ReadOnlySpan<float> cols = new(xg, g.Cg * g.H * g.W);
        int rowStride = p;
        if (!g.IsPointwise)
        {
            ConvColumns.Im2Col(cols, g.Cg, g.H, g.W, g.KH, g.KW, g.SH, g.SW, g.PH, g.PW, g.DH, g.DW, g.OH, g.OW,
                b.Columns, b.ColumnStride);
            cols = b.Columns.AsSpan(0, r * b.ColumnStride);
            rowStride = b.ColumnStride;
        }
        // dW_g [OCg, R] += dY_g [OCg, P] · col_gᵀ [P, R]: the GEMM reads col_g transposed in place.
        var dwg = partial.AsSpan(grp * g.OCg * r, g.OCg * r);
        if (r <= SmallRows) ConvWeightGradient.AddDots(dyg, cols, g.OCg, r, p, dwg, rowStride);
        else Gemm.Sgemm(false, true, g.OCg, r, p, 1f, dyg, p, cols, rowStride, 1f, dwg, r);
    }
}
