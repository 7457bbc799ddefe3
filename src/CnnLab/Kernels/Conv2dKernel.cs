using System.Buffers;

namespace CnnLab.Kernels;

// Legend: N batch, C input channels, H, W input height/width, OC output channels, KH, KW kernel,
// G groups, Cg = C/G, OCg = OC/G, OH, OW output height/width, P = OH·OW output pixels,
// R = Cg·KH·KW rows of one group's column matrix. x [N, C, H, W], w [OC, Cg, KH, KW], b [OC], y [N, OC, OH, OW].

/// <summary>
/// 2-D convolution (cross-correlation, as in deep learning) by im2col + GEMM, forward and backward:
/// y[n, o, i, j] = b[o] + Σ_{c ∈ group(o), u, v} w[o, c, u, v] · x[n, c, i·SH − PH + u·DH, j·SW − PW + v·DW].
/// Per image and group: Y_g [OCg, P] = W_g [OCg, R] · col_g [R, P]. A 3x3 "same" convolution with enough
/// channels computes y, dx and dW by Winograd F(2x2, 3x3) instead (<see cref="ConvForwardPlan"/>,
/// <see cref="WinogradBlock"/>, <see cref="WinogradWeightGradient"/>). Images run in parallel; every
/// output element is written by one thread, and the weight gradient is reduced from fixed chunks of
/// the batch (as many whatever the thread count) in chunk order, so results are the same for every
/// thread count and scheduling. <see cref="Conv2dReference"/> is the plain twin this is tested against.
/// </summary>
/// <remarks>PyTorch: <c>torch.nn.functional.conv2d</c> (its CPU "slow_conv2d" path is also im2col + GEMM).</remarks>
public static class Conv2dKernel
{
    /// <summary>
    /// An activation applied to each block of images as the forward finishes it, while it is in cache: y = f(z) for the
    /// block's convolution output z (inference: nothing is kept for a backward).
    /// </summary>
    public delegate void BlockActivation(ReadOnlySpan<float> z, Span<float> y);

    /// <summary>
    /// y = conv(x, w) + b, or max(0, conv(x, w) + b) with <paramref name="relu"/> (applied in the GEMM's
    /// epilogue, no extra pass). Overwrites <paramref name="y"/> [N, OC, OH, OW]. With
    /// <paramref name="planeMeans"/> and <paramref name="planeSquares"/> (N·OC each), also each output
    /// plane's mean and squared deviations (<see cref="BatchNormPlanes.MeanAndSquaredDeviations"/>), taken
    /// while the image is in cache, for a batch norm that follows (<see cref="BatchNormKernel.StatisticsFromPlanes"/>).
    /// The algorithm is <see cref="ConvPlanner"/>'s choice, or <paramref name="algorithm"/> when pinned.
    /// </summary>
    public static unsafe void Forward(in Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, bool hasBias, Span<float> y, bool relu = false,
        Span<double> planeMeans = default, Span<double> planeSquares = default, ConvAlgorithm algorithm = ConvAlgorithm.Auto) =>
        ForwardCached(g, x, w, b, hasBias, y, relu, planeMeans, planeSquares, weightsKey: null, algorithm);

    /// <summary>
    /// <see cref="Forward"/> with the weights' prepared plan kept in <see cref="ConvPlanCache"/> under
    /// <paramref name="weightsKey"/> (their array; null: prepare them for this call alone).
    /// </summary>
    internal static unsafe void ForwardCached(in Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, bool hasBias,
        Span<float> y, bool relu, Span<double> planeMeans, Span<double> planeSquares, float[]? weightsKey, ConvAlgorithm algorithm,
        BlockActivation? activation = null)
    {
        CheckLengths(g, x.Length, w.Length, y.Length);
        bool statistics = !planeMeans.IsEmpty;
        if (activation is not null && (statistics || relu)) throw new ArgumentException("an activation block epilogue goes alone");
        if (statistics && (planeMeans.Length < g.N * g.OC || planeSquares.Length < g.N * g.OC))
            throw new ArgumentException($"plane statistics need {g.N * g.OC} elements");
        var geo = g;
        int p = g.ColCols;
        var forward = ConvPlanner.Plan(g, algorithm).Forward;
        var plan = weightsKey is null ? new ConvForwardPlan(g, w, forward) : ConvPlanCache.Get(g, weightsKey, w, forward);
        using var owned = weightsKey is null ? plan : null;
        fixed (float* px = x, pb = b, py = y)
        fixed (double* pm = planeMeans, pq = planeSquares)
        {
            nint xs = (nint)px, bs = (nint)pb, ys = (nint)py, ms = (nint)pm, qs = (nint)pq;
            Parallelism.For(g.N, 1, (start, end) =>
            {
                using var workspace = plan.Rent();
                var xAll = new ReadOnlySpan<float>((float*)xs, geo.N * geo.C * geo.H * geo.W);
                var yAll = new Span<float>((float*)ys, geo.N * geo.OC * p);
                int xImage = geo.C * geo.H * geo.W, yImage = geo.OC * p;
                float[]? block = activation is null ? null : ArrayPool<float>.Shared.Rent(plan.ImagesPerBlock * yImage);
                for (int n0 = start; n0 < end; n0 += plan.ImagesPerBlock)
                {
                    int count = Math.Min(plan.ImagesPerBlock, end - n0);
                    var ySlice = yAll.Slice(n0 * yImage, count * yImage);
                    plan.Run(workspace, xAll.Slice(n0 * xImage, count * xImage), count, hasBias ? (float*)bs : null, relu,
                        block is null ? ySlice : block.AsSpan(0, count * yImage));
                    if (block is not null) activation!(block.AsSpan(0, count * yImage), ySlice);
                    if (statistics)
                        for (int n = n0; n < n0 + count; n++)
                            for (int o = 0; o < geo.OC; o++)
                                (((double*)ms)[n * geo.OC + o], ((double*)qs)[n * geo.OC + o]) = BatchNormPlanes.MeanAndSquaredDeviations(yAll.Slice(n * yImage + o * p, p));
                }
                if (block is not null) ArrayPool<float>.Shared.Return(block);
            });
        }
    }

    /// <summary>
    /// y [OC, P] = conv(x [C, H, W]) of one image, group by group (<see cref="ForwardGroup"/>), with the bias
    /// (when <paramref name="bias"/> is not null) and ReLU added in the GEMM's epilogue while each tile is in
    /// registers.
    /// </summary>
    internal static unsafe void ForwardImage(in Conv2dGeometry g, ReadOnlySpan<float> xImage, Gemm.PackedA[] packedW, float[]? col,
        float* bias, bool relu, Span<float> yImage)
    {
        int xGroup = g.Cg * g.H * g.W, yGroup = g.OCg * g.ColCols;
        for (int grp = 0; grp < g.G; grp++)
        {
            var epilogue = bias != null ? GemmEpilogue.WithRowBias(new ReadOnlySpan<float>(bias + grp * g.OCg, g.OCg), relu)
                : relu ? GemmEpilogue.WithRelu() : GemmEpilogue.None;
            ForwardGroup(g, xImage.Slice(grp * xGroup, xGroup), packedW[grp], col, yImage.Slice(grp * yGroup, yGroup), epilogue);
        }
    }

    /// <summary>A column-matrix buffer for <see cref="ForwardGroup"/> (R·ColumnStride floats), or null for a pointwise convolution.</summary>
    internal static float[]? ColumnBuffer(in Conv2dGeometry g) => g.IsPointwise ? null : ArrayPool<float>.Shared.Rent(g.ColRows * ColumnStride(g));

    /// <summary>
    /// Each group's W_g [OCg, R] (or W_gᵀ with <paramref name="transpose"/>) packed once for the GEMM's
    /// micro-kernels, to be multiplied by every image's [R, P] column matrix (or [OCg, P] gradient).
    /// Dispose each to return its buffer.
    /// </summary>
    internal static Gemm.PackedA[] PackWeights(in Conv2dGeometry g, ReadOnlySpan<float> w, bool transpose, int columns = 0)
    {
        if (columns == 0) columns = g.ColCols;
        int r = g.ColRows;
        var packed = new Gemm.PackedA[g.G];
        for (int grp = 0; grp < g.G; grp++)
        {
            var wg = w.Slice(grp * g.OCg * r, g.OCg * r);
            packed[grp] = transpose ? Gemm.PackAOnce(true, r, g.OCg, wg, r, columns) : Gemm.PackAOnce(false, g.OCg, r, wg, r, columns);
        }
        return packed;
    }

    /// <summary>
    /// Y_g [OCg, P] = epilogue(W_g [OCg, R] · col_g [R, P]) for one image and group. im2col writes
    /// col_g with rows <see cref="ColumnStride"/> apart (P rounded up to 16, the pad zeroed) so that the
    /// GEMM's micro-kernels read it in place: packing it into panels would copy as much memory again.
    /// W_g comes packed once per call (<see cref="PackWeights"/>). A pointwise convolution multiplies the
    /// input itself. <paramref name="col"/> is <see cref="ColumnBuffer"/>'s.
    /// </summary>
    internal static void ForwardGroup(in Conv2dGeometry g, ReadOnlySpan<float> xg, Gemm.PackedA wg, float[]? col, Span<float> yg, GemmEpilogue epilogue)
    {
        int r = g.ColRows, p = g.ColCols;
        if (col is null)
        {
            Gemm.SgemmPackedA(wg, p, 1f, false, xg, p, 0f, yg, p, epilogue);
            return;
        }
        int stride = ColumnStride(g);
        var cols = col.AsSpan(0, r * stride);
        ConvColumns.Im2Col(xg, g.Cg, g.H, g.W, g.KH, g.KW, g.SH, g.SW, g.PH, g.PW, g.DH, g.DW, g.OH, g.OW, cols, stride);
        Gemm.SgemmPackedA(wg, p, 1f, false, cols, stride, 0f, yg, p, epilogue, bInPlace: true);
    }

    /// <summary>Floats between rows of a column matrix that the GEMM reads in place: <see cref="RowStride"/> of P.</summary>
    internal static int ColumnStride(in Conv2dGeometry g) => RowStride(g.ColCols);

    /// <summary>
    /// Floats between rows of a matrix of <paramref name="columns"/> that im2col or the GEMM writes and col2im or
    /// the GEMM reads: the columns rounded up to 16, and 16 more where that is a multiple of 256. Rows a multiple
    /// of 1 KB apart put many of im2col's stores at the same address modulo 4 KB as its loads from the image,
    /// which the core then takes for dependences (4K aliasing): the forward of 32 images, one core, 3→16 5x5 on
    /// 32x32 took 2.50 ms with rows 4 KB apart and 0.75 ms with 64 bytes more; 8→8 3x3 on 16x16 (1 KB) 0.44 → 0.20
    /// ms; 3→8 3x3 on 64x64 1.19 → 0.38 ms.
    /// </summary>
    internal static int RowStride(int columns)
    {
        int rounded = (columns + 15) / 16 * 16;
        return rounded % 256 == 0 ? rounded + 16 : rounded;
    }

    /// <summary>
    /// Accumulates the gradients of <see cref="Forward"/>: dx += ∂L/∂x, dw += ∂L/∂w, db += ∂L/∂b, each
    /// skipped when its span is empty. Forward, per image and group: Y_g = W_g · col(x_g) + b. So
    /// dcol = W_gᵀ · dY_g and dx_g += col2im(dcol); dW_g += dY_g · col(x_g)ᵀ; db[o] += Σ_{n, pixels} dy[n, o].
    /// With <paramref name="reluOutput"/> (the y of a forward with relu), dy is first masked to
    /// dy·[y &gt; 0] one image at a time while it is in cache, instead of a separate ReLU backward pass.
    /// With <paramref name="overwriteDx"/>, dx = ∂L/∂x instead of dx += (dx is never read, so it need not
    /// be zeroed: the autograd op hands over a fresh buffer, which saves zeroing it and reading it back).
    /// dx and dW each take <see cref="ConvPlanner"/>'s algorithm for them (given <paramref name="algorithm"/> when pinned).
    /// </summary>
    public static unsafe void Backward(in Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> dy,
        Span<float> dx, Span<float> dw, Span<float> db, ReadOnlySpan<float> reluOutput = default, bool overwriteDx = false,
        ConvAlgorithm algorithm = ConvAlgorithm.Auto)
    {
        CheckLengths(g, x.Length, w.Length, dy.Length);
        bool masked = !reluOutput.IsEmpty;
        if (masked && reluOutput.Length < dy.Length) throw new ArgumentException($"reluOutput has {reluOutput.Length} elements, needs {dy.Length}");
        fixed (float* pdy = dy, pry = reluOutput)
        {
            ConvOutputGradient source = masked ? new ReluMaskedGradient(g, pdy, pry) : new PlainGradient(g, pdy);
            BackwardCore(g, x, w, source, dx, dw, db, overwriteDx, algorithm);
        }
    }

    /// <summary>
    /// The backward of <see cref="Backward"/> with dL/dY taken image by image from <paramref name="source"/>
    /// (plain, ReLU-masked, or scattered from a max pool). db, when asked for, is summed from what the
    /// source gives: per (image, channel) while the image's block is in cache (in parallel), then over
    /// images in order, the same order as <see cref="BackwardBias"/>, so every op gives the same bits. (A
    /// separate pass walks each channel's planes N·OC·P floats apart, one thread, at memory latency: 2 ms
    /// for cnn-bn's first layer at batch 128, against 1.2 ms for its whole weight gradient.)
    /// </summary>
    internal static unsafe void BackwardCore(in Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ConvOutputGradient source,
        Span<float> dx, Span<float> dw, Span<float> db, bool overwriteDx, ConvAlgorithm algorithm)
    {
        int r = g.ColRows, p = g.ColCols;
        bool needDx = !dx.IsEmpty, needDw = !dw.IsEmpty, needDb = !db.IsEmpty;
        CheckGradients(g, dx.Length, dw.Length, db.Length);
        if ((!needDx && !needDw && !needDb) || g.N == 0) return;
        var choice = ConvPlanner.Plan(g, algorithm);
        // The planner gives depthwise (and Winograd) to dx and dW together.
        if (choice.InputGradient == ConvAlgorithm.Depthwise)
        {
            DepthwiseConv.Backward(g, x, w, source, dx, dw, db, overwriteDx);
            return;
        }
        // Pooled, not allocated per call: the training step then allocates (almost) nothing.
        float[] rowSums = needDb ? ArrayPool<float>.Shared.Rent(g.N * g.OC) : [];

        // W_gᵀ [R, OCg] per group, packed once here for dcol = W_gᵀ · dY_g (once per image).
        // dx by Winograd (the convolution of dY with the kernels turned 180°) where it applies, blocks of
        // images collected one image at a time; else dcol = W_gᵀ · dY_g per image with W_gᵀ packed once here.
        // dW by Winograd too where it applies: each chunk's partial is then dU, turned into dW at the end. Both
        // walk the chunk's images in the same blocks.
        bool anyWinograd = choice.InputGradient == ConvAlgorithm.Winograd || choice.WeightGradient == ConvAlgorithm.Winograd;
        var block = anyWinograd ? new WinogradBlock(g.H, g.W) : null;
        var winograd = needDx && choice.InputGradient == ConvAlgorithm.Winograd ? block : null;
        // dx of small planes by blocks of images: dY of several images side by side in one GEMM (lenet5's conv2:
        // 4 images of 100 pixels, 0.69 → 0.39 ms for the batch's products, the 100-column ones ending in a mostly
        // empty 48-column panel), then col2im image by image from the block's columns. The same sums per element.
        var directDx = needDx && choice.InputGradient == ConvAlgorithm.ChannelBlocked ? new ChannelBlockedInputGradient(g, w) : null;
        int dxImages = needDx && block is null && directDx is null && !g.IsPointwise && g.G == 1 ? DxBlockImages(p) : 1;
        int dxColumns = dxImages * p, dxStride = RowStride(dxColumns);
        var packedWT = !needDx || directDx is not null ? []
            : winograd is null ? PackWeights(g, w, transpose: true, dxColumns)
            : Winograd3x3.TransformWeights(g, w, inputGradient: true, winograd.Cols);
        var wgrad = needDw && choice.WeightGradient == ConvAlgorithm.Winograd ? new WinogradWeightGradient(g, block!) : null;
        // dW of small planes directly, 16 output channels per vector (no column matrix to build and pack).
        var direct = needDw && choice.WeightGradient == ConvAlgorithm.ChannelBlocked ? new ChannelBlockedConv(g) : null;
        int partialLength = wgrad?.TransformedLength ?? g.OC * r;
        int blockImages = block?.Images ?? dxImages;
        // Fixed chunks of the batch (not one per thread): each accumulates its own dW partial in image
        // order, and the partials are summed in chunk order below, so dW is the same for any thread
        // count; several chunks per thread let a core the host steals for a while hold up only one.
        // Without dW, a chunk per block of images.
        int chunks = needDw ? Math.Min(g.N, WeightGradientChunks) : (g.N + blockImages - 1) / blockImages;
        float[][] partials = needDw ? new float[chunks][] : [];
        var geo = g;
        fixed (float* px = x, pdx = dx)
        {
            nint xs = (nint)px, dxs = (nint)pdx;
            Parallelism.For(chunks, 1, (cs, ce) =>
            {
                var xAll = new ReadOnlySpan<float>((float*)xs, geo.N * geo.C * geo.H * geo.W);
                var dxAll = needDx ? new Span<float>((float*)dxs, geo.N * geo.C * geo.H * geo.W) : default;
                // Rows ColumnStride apart, off 1 KB multiples (see RowStride): the dW column matrix and the dx one.
                int colStride = ColumnStride(geo);
                float[] col = ArrayPool<float>.Shared.Rent(r * colStride);
                // A block's dY [OC, images·P] and dcol [R, images·P], rows dxStride apart (dY's padding columns, read
                // by the GEMM's last panel, zeroed once).
                float[] dyBlock = dxImages > 1 ? ArrayPool<float>.Shared.Rent(geo.OC * dxStride) : [];
                float[] dcolBlock = dxImages > 1 ? ArrayPool<float>.Shared.Rent(r * dxStride) : [];
                Array.Clear(dyBlock);
                float[] scratch = ArrayPool<float>.Shared.Rent(geo.OCg * p + 16);
                using var blockBuffers = winograd?.Rent(geo.OC, geo.Cg);
                using var wgradBuffers = wgrad?.Rent();
                float[]? padded = null, dyT = null, dyPadded = null, phaseOut = null;
                if (directDx is not null)
                {
                    dyPadded = ArrayPool<float>.Shared.Rent(directDx.PaddedLength);
                    Array.Clear(dyPadded, 0, directDx.PaddedLength);
                    phaseOut = ArrayPool<float>.Shared.Rent(directDx.PhaseOutLength);
                }
                if (direct is not null)
                {
                    padded = ArrayPool<float>.Shared.Rent(Math.Max(1, direct.PaddedLength));
                    Array.Clear(padded);
                    dyT = ArrayPool<float>.Shared.Rent(p * ChannelBlockedConv.Lanes);
                }
                for (int chunk = cs; chunk < ce; chunk++)
                {
                    float[]? partial = null;
                    if (needDw)
                    {
                        partial = partials[chunk] = ArrayPool<float>.Shared.Rent(partialLength);
                        Array.Clear(partial, 0, partialLength);
                    }
                    int n0 = (int)((long)chunk * geo.N / chunks), n1 = (int)((long)(chunk + 1) * geo.N / chunks);
                    int blockStart = n0;
                    for (int n = n0; n < n1; n++)
                    {
                        for (int grp = 0; grp < geo.G; grp++)
                        {
                            int xOff = (n * geo.C + grp * geo.Cg) * geo.H * geo.W, xLen = geo.Cg * geo.H * geo.W;
                            var dyg = source.ForImage(n, grp, scratch.AsSpan(0, geo.OCg * p + 16));
                            if (needDb)
                                for (int o = 0; o < geo.OCg; o++)
                                    rowSums[n * geo.OC + grp * geo.OCg + o] = TensorPrimitives.Sum(dyg.Slice(o * p, p));
                            if (partial is not null && wgrad is not null)
                                wgrad.AddImage(wgradBuffers!, grp, (float*)xs + xOff, dyg, n - blockStart);
                            else if (partial is not null && direct is not null)
                                fixed (float* dys = dyg, sums = partial, transposed = dyT, pad = padded)
                                    direct.AddWeightGradient((float*)xs + xOff, dys, sums + (long)grp * geo.OCg * r, transposed, pad);
                            else if (partial is not null)
                            {
                                ReadOnlySpan<float> cols = xAll.Slice(xOff, xLen);
                                int rowStride = p;
                                if (!geo.IsPointwise)
                                {
                                    ConvColumns.Im2Col(cols, geo.Cg, geo.H, geo.W, geo.KH, geo.KW, geo.SH, geo.SW, geo.PH, geo.PW, geo.DH, geo.DW, geo.OH, geo.OW, col, colStride);
                                    cols = col.AsSpan(0, r * colStride);
                                    rowStride = colStride;
                                }
                                var dwg = partial.AsSpan(grp * geo.OCg * r, geo.OCg * r);
                                // dW_g [OCg, R] += dY_g [OCg, P] · col_gᵀ [P, R]: the GEMM reads col_g transposed in
                                // place. With few rows (a 1-channel input: R = 9 or 25) its tiles would be mostly
                                // padding, so each entry is one dot product over the P pixels instead.
                                if (r <= SmallRows) ConvWeightGradient.AddDots(dyg, cols, geo.OCg, r, p, dwg, rowStride);
                                else Gemm.Sgemm(false, true, geo.OCg, r, p, 1f, dyg, p, cols, rowStride, 1f, dwg, r);
                            }
                            if (directDx is not null)
                                fixed (float* dys = dyg, pd = dyPadded, po = phaseOut)
                                    directDx.Image(dys, (float*)dxs + (long)n * geo.C * geo.H * geo.W, !overwriteDx, pd, po);
                            else if (winograd is not null)
                                fixed (float* planes = dyg)
                                    winograd.TransformInput(blockBuffers!, planes, geo.OCg, grp * geo.OCg, n - blockStart);
                            else if (needDx && dxImages > 1)
                            {
                                for (int o = 0; o < geo.OC; o++)
                                    dyg.Slice(o * p, p).CopyTo(dyBlock.AsSpan(o * dxStride + (n - blockStart) * p, p));
                            }
                            else if (needDx)
                            {
                                var dxg = dxAll.Slice(xOff, xLen);
                                var wTg = packedWT[grp];
                                if (geo.IsPointwise)
                                {
                                    // dx_g [Cg, P] (+)= W_gᵀ [Cg, OCg] · dY_g [OCg, P]
                                    Gemm.SgemmPackedA(wTg, p, 1f, false, dyg, p, overwriteDx ? 0f : 1f, dxg, p, GemmEpilogue.None);
                                }
                                else
                                {
                                    // dcol [R, P] = W_gᵀ [R, OCg] · dY_g [OCg, P]; dx_g (+)= col2im(dcol). dY_g is read in
                                    // place where its last row's padding is readable (see ForImage).
                                    bool inPlace = dyg.Length >= (long)(geo.OCg - 1) * p + (p + 15) / 16 * 16;
                                    Gemm.SgemmPackedA(wTg, p, 1f, false, dyg, p, 0f, col.AsSpan(0, r * colStride), colStride, GemmEpilogue.None, inPlace);
                                    ConvColumns.Col2Im(col.AsSpan(0, r * colStride), geo.Cg, geo.H, geo.W, geo.KH, geo.KW, geo.SH, geo.SW, geo.PH, geo.PW, geo.DH, geo.DW, geo.OH, geo.OW, dxg, colStride, accumulate: !overwriteDx);
                                }
                            }
                        }
                        // A full block, or the chunk's last images: dx of the block's images from their dY tiles,
                        // and their tiles' share of dU.
                        if (n - blockStart + 1 == blockImages || n == n1 - 1)
                        {
                            int count = n - blockStart + 1;
                            if (needDx && dxImages > 1)
                            {
                                // dcol [R, images·P] = Wᵀ [R, OC] · dY [OC, images·P]; dx of each image from its columns.
                                Gemm.SgemmPackedA(packedWT[0], count * p, 1f, false, dyBlock, dxStride, 0f, dcolBlock, dxStride, GemmEpilogue.None, bInPlace: true);
                                for (int i = 0; i < count; i++)
                                    ConvColumns.Col2Im(dcolBlock.AsSpan(i * p), geo.C, geo.H, geo.W, geo.KH, geo.KW, geo.SH, geo.SW, geo.PH, geo.PW, geo.DH, geo.DW, geo.OH, geo.OW,
                                        dxAll.Slice((blockStart + i) * geo.C * geo.H * geo.W, geo.C * geo.H * geo.W), dxStride, accumulate: !overwriteDx);
                            }
                            for (int grp = 0; grp < geo.G; grp++)
                            {
                                winograd?.MultiplyAndTransformOutput(blockBuffers!, packedWT.AsSpan(grp * 16, 16), grp * geo.OCg, geo.OCg, geo.Cg, count,
                                    (float*)dxs + ((long)blockStart * geo.C + grp * geo.Cg) * geo.H * geo.W, (long)geo.C * geo.H * geo.W, null, false, accumulate: !overwriteDx);
                                if (partial is not null) wgrad?.Accumulate(wgradBuffers!, grp, count, partial);
                            }
                            blockStart = n + 1;
                        }
                    }
                }
                ArrayPool<float>.Shared.Return(col);
                ArrayPool<float>.Shared.Return(scratch);
                if (dxImages > 1)
                {
                    ArrayPool<float>.Shared.Return(dyBlock);
                    ArrayPool<float>.Shared.Return(dcolBlock);
                }
                if (padded is not null) ArrayPool<float>.Shared.Return(padded);
                if (dyT is not null) ArrayPool<float>.Shared.Return(dyT);
                if (dyPadded is not null) ArrayPool<float>.Shared.Return(dyPadded);
                if (phaseOut is not null) ArrayPool<float>.Shared.Return(phaseOut);
            });
        }
        // (Not returned if the loop throws: the pool then just makes new buffers.)
        foreach (var packed in packedWT) packed.Dispose();
        if (needDb)
            for (int o = 0; o < g.OC; o++)
            {
                double sum = 0;
                for (int n = 0; n < g.N; n++) sum += rowSums[n * g.OC + o];
                db[o] += (float)sum;
            }
        if (needDb) ArrayPool<float>.Shared.Return(rowSums);
        if (!needDw) return;
        int size = partialLength;
        for (int chunk = 1; chunk < chunks; chunk++) TensorPrimitives.Add(partials[0].AsSpan(0, size), partials[chunk].AsSpan(0, size), partials[0].AsSpan(0, size));
        if (wgrad is not null) wgrad.AddToWeights(partials[0].AsSpan(0, size), dw);
        else if (direct is not null) direct.AddToWeights(partials[0].AsSpan(0, size), dw);
        else
        {
            var total = dw[..size];
            TensorPrimitives.Add(total, partials[0].AsSpan(0, size), total);
        }
        foreach (var partial in partials) ArrayPool<float>.Shared.Return(partial);
    }

    // How many partial weight gradients the batch is cut into (independent of the thread count, so dW is
    // the same for any); 16 so that with 2 threads the last chunk is a small share of the loop (see
    // Parallelism.For). The direct one-channel weight gradient cuts the same way.
    internal const int WeightGradientChunks = 16;

    // Images whose dY go into one GEMM for dx: the largest power of two with at most 512 columns (so that a
    // chunk of 8 or 4 images splits into whole blocks), 1 for planes of more than 256 pixels.
    internal static int DxBlockImages(int pixels)
    {
        int images = 1;
        while (images * 2 * pixels <= 512 && images < 8) images *= 2;
        return images;
    }

    // Column matrices with at most this many rows take the dot-product path for dW (see Backward).
    private const int SmallRows = 32;

    /// <summary>db[o] += Σ_n Σ_pixels dy[n, o, ·, ·] (y = … + b broadcast over n and pixels).</summary>
    public static void BackwardBias(in Conv2dGeometry g, ReadOnlySpan<float> dy, Span<float> db)
    {
        int p = g.ColCols;
        for (int o = 0; o < g.OC; o++)
        {
            double s = 0;
            for (int n = 0; n < g.N; n++) s += TensorPrimitives.Sum(dy.Slice((n * g.OC + o) * p, p));
            db[o] += (float)s;
        }
    }

    private static void CheckLengths(in Conv2dGeometry g, int xLen, int wLen, int yLen)
    {
        CheckInputs(g, xLen, wLen);
        if (yLen < g.N * g.OC * g.ColCols) throw new ArgumentException($"y has {yLen} elements, needs {g.N * g.OC * g.ColCols}");
    }

    // dx, dw and db, each empty (not wanted) or big enough (for this kernel and the fused ones built on it).
    internal static void CheckGradients(in Conv2dGeometry g, int dxLen, int dwLen, int dbLen)
    {
        if (dxLen > 0 && dxLen < g.N * g.C * g.H * g.W) throw new ArgumentException($"dx has {dxLen} elements, needs {g.N * g.C * g.H * g.W}");
        if (dwLen > 0 && dwLen < g.OC * g.ColRows) throw new ArgumentException($"dw has {dwLen} elements, needs {g.OC * g.ColRows}");
        if (dbLen > 0 && dbLen < g.OC) throw new ArgumentException($"db has {dbLen} elements, needs {g.OC}");
    }

    // The geometry, x and w (for this kernel and the fused ones built on it).
    internal static void CheckInputs(in Conv2dGeometry g, int xLen, int wLen)
    {
        if (g.N < 0 || g.C <= 0 || g.OC <= 0 || g.G <= 0 || g.C % g.G != 0 || g.OC % g.G != 0 || g.OH <= 0 || g.OW <= 0)
            throw new ArgumentException($"invalid convolution geometry {g}");
        if (xLen < g.N * g.C * g.H * g.W) throw new ArgumentException($"x has {xLen} elements, needs {g.N * g.C * g.H * g.W}");
        if (wLen < g.OC * g.ColRows) throw new ArgumentException($"w has {wLen} elements, needs {g.OC * g.ColRows}");
    }
}
