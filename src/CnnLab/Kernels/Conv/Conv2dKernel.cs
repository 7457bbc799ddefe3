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
    /// block's convolution output z (inference: nothing is kept for a backward). It may also pool: then y holds fewer floats
    /// per image than z (<see cref="ForwardCached"/>'s outputImage), and z is the block's own scratch, free to overwrite.
    /// <paramref name="firstImage"/>: the batch index of the block's first image (an epilogue that reads another tensor of
    /// the batch, such as a residual, finds its block there).
    /// </summary>
    public delegate void BlockActivation(int firstImage, Span<float> z, Span<float> y);

    /// <summary>
    /// y = conv(x, w) + b, or max(0, conv(x, w) + b) with <paramref name="relu"/> (applied in the GEMM's
    /// epilogue, no extra pass). Overwrites <paramref name="y"/> [N, OC, OH, OW]. With
    /// <paramref name="planeMeans"/> and <paramref name="planeSquares"/> (N·OC each), also each output
    /// plane's mean and squared deviations (<see cref="BatchNormPlanes.MeanAndSquaredDeviations"/>), taken
    /// while the image is in cache, for a batch norm that follows (<see cref="BatchNormKernel.StatisticsFromPlanes"/>).
    /// The algorithm is <see cref="ConvPlanner"/>'s choice, or <paramref name="algorithm"/> when pinned.
    /// </summary>
    public static unsafe void Forward(in Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b,
        bool hasBias, Span<float> y, bool relu = false,
        Span<double> planeMeans = default, Span<double> planeSquares = default, ConvAlgorithm algorithm = ConvAlgorithm.Auto) =>
        ForwardCached(g, x, w, b, hasBias, y, relu, planeMeans, planeSquares, weightsKey: null, algorithm);

    /// <summary>
    /// <see cref="Forward"/> with the weights' prepared plan kept in <see cref="ConvPlanCache"/> under
    /// <paramref name="weightsKey"/> (their array and freeze; null: prepare them for this call alone). A plan prepared for this
    /// call alone cuts Winograd's blocks of images at <paramref name="winogradBlockColumns"/> GEMM columns (0: the
    /// default; the tests pass fewer to make full and short blocks on small batches). An <paramref name="activation"/> that
    /// pools writes <paramref name="outputImage"/> floats of y per image (0: OC·OH·OW, the convolution's own).
    /// <paramref name="stored"/>: the same <paramref name="activation"/> as the kernels can store it (a leaky ReLU), taken instead
    /// of the block pass where the planned kernels store it (<see cref="ConvForwardPlan.StoresLeaky"/>).
    /// </summary>
    internal static unsafe void ForwardCached(in Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, bool hasBias,
        Span<float> y, bool relu, Span<double> planeMeans, Span<double> planeSquares, CachedWeights? weightsKey, ConvAlgorithm algorithm,
        BlockActivation? activation = null, int winogradBlockColumns = 0, int outputImage = 0, Rectifier stored = default)
    {
        if (!stored.IsNone && (!stored.IsLeaky || activation is null || outputImage != 0))
            throw new ArgumentException("a stored rectifier is a leaky ReLU that stands for its block activation", nameof(stored));
        if (outputImage != 0 && activation is null) throw new ArgumentException("only a block epilogue writes another output size");
        int yImageOut = outputImage == 0 ? g.OC * g.ColCols : outputImage;
        CheckLengths(g, x.Length, w.Length, y.Length, yImageOut);
        if (weightsKey is not null && winogradBlockColumns != 0)
            throw new ArgumentException("a cached plan keeps the default Winograd blocks", nameof(winogradBlockColumns));
        bool statistics = !planeMeans.IsEmpty;
        if (activation is not null && (statistics || relu)) throw new ArgumentException("an activation block epilogue goes alone");
        if (statistics && (planeMeans.Length < g.N * g.OC || planeSquares.Length < g.N * g.OC))
            throw new ArgumentException($"plane statistics need {g.N * g.OC} elements");
        if (ConvPlanner.DilationPhases(g, algorithm) is { } phases)
        {
            DilatedPhases.Forward(g, phases, x, w, b, hasBias, y, relu, planeMeans, planeSquares, weightsKey, activation, yImageOut);
            return;
        }
        var geo = g;
        int p = g.ColCols;
        var plan = ConvPlanCache.Forward(g, weightsKey, w, algorithm, out var owned, winogradBlockColumns);
        using var _ = owned;
        Rectifier act = relu;
        if (stored.IsLeaky && plan.StoresLeaky) (act, activation) = (stored, null);
        fixed (float* px = x, pb = b, py = y, pw = w)
        fixed (double* pm = planeMeans, pq = planeSquares)
        {
            nint xs = (nint)px, bs = (nint)pb, ys = (nint)py, ms = (nint)pm, qs = (nint)pq, wp = (nint)pw;
            plan.ForImages(g.N, (start, end) =>
            {
                using var workspace = plan.Rent((float*)wp);
                var xAll = new ReadOnlySpan<float>((float*)xs, geo.N * geo.C * geo.H * geo.W);
                var yAll = new Span<float>((float*)ys, geo.N * yImageOut);
                int xImage = geo.C * geo.H * geo.W, yImage = geo.OC * p;
                float[]? block = activation is null ? null : ArrayPool<float>.Shared.Rent(plan.ImagesPerBlock * yImage);
                for (int n0 = start; n0 < end; n0 += plan.ImagesPerBlock)
                {
                    int count = Math.Min(plan.ImagesPerBlock, end - n0);
                    var ySlice = yAll.Slice(n0 * yImageOut, count * yImageOut);
                    plan.Run(workspace, xAll.Slice(n0 * xImage, count * xImage), count, hasBias ? (float*)bs : null, act,
                        block is null ? ySlice : block.AsSpan(0, count * yImage),
                        xAll.Slice((n0 + count) * xImage, (end - n0 - count) * xImage));
                    if (block is not null) activation!(n0, block.AsSpan(0, count * yImage), ySlice);
                    if (statistics)
                        for (int n = n0; n < n0 + count; n++)
                            for (int o = 0; o < geo.OC; o++)
                                (((double*)ms)[n * geo.OC + o], ((double*)qs)[n * geo.OC + o]) =
                                    BatchNormPlanes.MeanAndSquaredDeviations(yAll.Slice(n * yImage + o * p, p));
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
        float* bias, bool relu, Span<float> yImage, float* next = null)
    {
        int xGroup = g.Cg * g.H * g.W, yGroup = g.OCg * g.ColCols;
        for (int grp = 0; grp < g.G; grp++)
        {
            var epilogue = bias != null ? GemmEpilogue.WithRowBias(new ReadOnlySpan<float>(bias + grp * g.OCg, g.OCg), relu)
                : relu ? GemmEpilogue.WithRelu() : GemmEpilogue.None;
            ForwardGroup(g, xImage.Slice(grp * xGroup, xGroup), packedW[grp], col, yImage.Slice(grp * yGroup, yGroup), epilogue,
                PrefetchStream.Over(next == null ? null : next + (long)grp * xGroup, xGroup, 1));
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
    /// input itself. <paramref name="col"/> is <see cref="ColumnBuffer"/>'s. <paramref name="ahead"/>: what the caller reads
    /// next, asked for only by a pointwise GEMM that packs the input. Where the GEMM reads its B in place, B is read again for
    /// every panel of rows, and the lines asked for pushed it out of L1 (bench/RESULTS.md, "Output rows a block of outputs at a
    /// time, the next image asked for by pointwise GEMMs").
    /// </summary>
    internal static void ForwardGroup(in Conv2dGeometry g, ReadOnlySpan<float> xg, Gemm.PackedA wg, float[]? col, Span<float> yg,
        GemmEpilogue epilogue, PrefetchStream ahead = default)
    {
        int r = g.ColRows, p = g.ColCols;
        if (col is null)
        {
            bool inPlace = PointwiseReadsInPlace(p, g.Cg, !ahead.IsEmpty, g.N);
            Gemm.SgemmPackedA(wg, p, 1f, false, xg, p, 0f, yg, p, epilogue, inPlace, inPlace ? default : ahead);
            return;
        }
        int stride = ColumnStride(g);
        var cols = col.AsSpan(0, r * stride);
        ConvColumns.Im2Col(xg, g.Cg, g.H, g.W, g.KH, g.KW, g.SH, g.SW, g.PH, g.PW, g.DH, g.DW, g.OH, g.OW, cols, stride);
        Gemm.SgemmPackedA(wg, p, 1f, false, cols, stride, 0f, yg, p, epilogue, bInPlace: true);
    }

    /// <summary>
    /// Whether a pointwise forward's GEMM reads the input's rows of <paramref name="pixels"/> floats in place, as im2col's columns
    /// are: where whole vectors cover them, but not rows 4 KB apart (planes of a multiple of 1,024 pixels), and not an input of
    /// <paramref name="inputs"/> channels of 64 KB or more on planes of 256 pixels or more while the next image is asked for
    /// (<paramref name="nextAsked"/>) and the call's <paramref name="images"/> take 4 MB or more: such an input comes from memory,
    /// where the first pass over its rows read in place waits, and a GEMM that packs it asks for the next image while it runs
    /// (bench/RESULTS.md, "What a kernel touches next"). A smaller call (inference's slices of a batch) finds it in cache.
    /// </summary>
    internal static bool PointwiseReadsInPlace(int pixels, int inputs, bool nextAsked, int images) =>
        pixels % 16 == 0 && pixels % PackedPointwisePixels != 0
        && (!nextAsked || pixels < PackedPointwiseMinPixels || (long)inputs * pixels < PackedPointwiseFloats
            || (long)images * inputs * pixels < PackedPointwiseCallFloats);

    // The image (64 KB), plane and call (4 MB) from which a pointwise forward that asks for the next image packs its input.
    internal const int PackedPointwiseFloats = 16384, PackedPointwiseMinPixels = 256, PackedPointwiseCallFloats = 1 << 20;

    // Pixels of a plane whose rows a pointwise forward's GEMM packs: rows 4 KB apart.
    internal const int PackedPointwisePixels = 1024;

    /// <summary>Floats between rows of a column matrix that the GEMM reads in place: <see cref="RowStride"/> of P.</summary>
    internal static int ColumnStride(in Conv2dGeometry g) => RowStride(g.ColCols);

    /// <summary>
    /// Floats between rows of a matrix of <paramref name="columns"/> that im2col or the GEMM writes and col2im or
    /// the GEMM reads: the columns rounded up to 16, and 16 more where that is a multiple of 256. Rows a multiple
    /// of 1 KB apart put many of im2col's stores at the same address modulo 4 KB as its loads from the image,
    /// which the core then takes for dependences (4K aliasing) and waits on.
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
    /// (plain, ReLU-masked, or scattered from a max pool) by <see cref="ConvBackwardPass"/>, or by the depthwise kernel.
    /// db, when asked for, is summed from what the source gives while each image is in cache, in the order of
    /// <see cref="BackwardBias"/>, so every op gives the same bits (a separate pass walks each channel's planes N·OC·P
    /// floats apart, one thread, at memory latency). Winograd's blocks of images fill <paramref name="winogradBlockColumns"/>
    /// GEMM columns (0: the default; the tests pass fewer to make full and short blocks on small batches).
    /// <paramref name="dxAddend"/> (with an overwritten dx; empty: none): addend + dx instead of dx, each image added while in
    /// cache, as the autograd engine would sum the two (InputGradientAddends). <paramref name="maskDxByInput"/>: then ·[x &gt; 0],
    /// each image masked while in cache, for an x that is a ReLU's output (Tensor.PremaskedFor). <paramref name="inputSums"/> (with
    /// the mask): then the gradient sums of the batch norm before that ReLU, from each masked image. Returns which of these it
    /// did (none by the pixel GEMMs' dx, nor without an overwritten dx).
    /// </summary>
    internal static DxFinish BackwardCore(in Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ConvOutputGradient source,
        Span<float> dx, Span<float> dw, Span<float> db, bool overwriteDx, ConvAlgorithm algorithm, int winogradBlockColumns = 0,
        bool maskDxByInput = false, ReadOnlySpan<float> dxAddend = default, BatchNormGradientSums? inputSums = null)
    {
        bool needDx = !dx.IsEmpty, needDw = !dw.IsEmpty, needDb = !db.IsEmpty;
        CheckGradients(g, dx.Length, dw.Length, db.Length);
        if (!dxAddend.IsEmpty && dxAddend.Length < dx.Length)
            throw new ArgumentException($"dxAddend has {dxAddend.Length} elements, needs {dx.Length}");
        if ((!needDx && !needDw && !needDb) || g.N == 0) return default;
        if (ConvPlanner.DilationPhases(g, algorithm) is { } phases)
        {
            DilatedPhases.Backward(g, phases, x, w, source, dx, dw, db, overwriteDx);
            return default;
        }
        var plan = ConvPlanner.Plan(g, algorithm);
        // The planner gives depthwise (and Winograd) to dx and dW together.
        if (plan.InputGradient == ConvAlgorithm.Depthwise)
            return DepthwiseConv.Backward(g, x, w, source, dx, dw, db, overwriteDx, maskDxByInput, dxAddend, inputSums);
        if (plan.InputGradient == ConvAlgorithm.PixelGemm || plan.WeightGradient == ConvAlgorithm.PixelGemm)
            return PixelGemmConv.Backward(g, plan, x, w, source, dx, dw, db, overwriteDx, winogradBlockColumns, maskDxByInput, dxAddend,
                inputSums);
        var pass = new ConvBackwardPass(g, w, source, plan, needDx, needDw, needDb, overwriteDx, winogradBlockColumns, maskDxByInput,
            addsToDx: !dxAddend.IsEmpty, inputSums);
        pass.Run(x, dx, dw, db, dxAddend);
        return new(pass.MasksDx, pass.AddsToDx, pass.SumsInput);
    }


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

    // x, w, and y (or dy) of yImage floats per image (0: OC·OH·OW, the convolution's own output).
    private static void CheckLengths(in Conv2dGeometry g, int xLen, int wLen, int yLen, int yImage = 0)
    {
        CheckInputs(g, xLen, wLen);
        long needed = (long)g.N * (yImage == 0 ? g.OC * g.ColCols : yImage);
        if (yLen < needed) throw new ArgumentException($"y has {yLen} elements, needs {needed}");
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
