using System.Buffers;

namespace CnnLab.Kernels;

// Legend as in Conv2dKernel.cs; B = ImagesPerBlock, T = Winograd tiles per plane, cols = B·T.

/// <summary>
/// A convolution's forward over a batch by the algorithm <see cref="ConvPlanner"/> chose, prepared once: the weights packed for im2col + GEMM
/// (<see cref="Conv2dKernel.ForwardImage"/>, one image at a time), transformed for Winograd F(2x2, 3x3)
/// or F(4x4, 3x3) (<see cref="Winograd3x3"/>, <see cref="Winograd4x4"/>, where they apply, by blocks of images; where AVX-512 is
/// missing, F(2x2, 3x3) with GEMM products, <see cref="WinogradGemm"/>), or packed
/// by blocks of 16 output channels for the direct convolution of small planes (<see cref="ChannelBlockedConv"/>) or of 8 for
/// the direct one by output rows (<see cref="OutputRowConv"/>), or once per tap for the pixel GEMMs of small planes
/// (<see cref="PixelGemmConv"/>, by blocks of images),
/// or kept as given for the direct one-channel 3x3 convolution (<see cref="SingleChannelConv3x3"/>) and the direct
/// depthwise one (<see cref="DepthwiseConv"/>), or not at all for the weight rows' dot products (<see cref="WeightRowConv"/>),
/// which read them where they lie (the caller hands them to <see cref="Rent(float*)"/>). Each image's
/// output is computed the same way whatever block it lands in, so results do not depend on how the
/// batch is cut among threads. Dispose to return the packed weights.
/// </summary>
internal sealed unsafe class ConvForwardPlan : IDisposable
{
    private readonly Conv2dGeometry _g;
    private readonly Gemm.PackedA[] _packed;
    private readonly WinogradBlock? _winograd;
    private readonly WinogradWeights? _winogradWeights;
    private readonly ChannelBlockedConv? _direct;
    private readonly OutputRowConv? _rows;
    private readonly PixelGemmConv? _pixels;
    private readonly WeightRowConv? _weightRows;
    private readonly WinogradGemm? _winogradGemm;
    private readonly Gemm.PackedA[] _pixelTaps = [];
    // A direct kernel's weights: packed by blocks of 16 output channels (channel-blocked) or of 8 (output rows), or as given
    // (one channel, depthwise).
    private readonly float[]? _directWeights;
    private readonly bool _singleChannel;
    private readonly bool _depthwise;

    /// <summary>Images <see cref="Run"/> takes at most (1 for im2col).</summary>
    public int ImagesPerBlock { get; }

    // The pixel GEMMs' columns: their rate measured flat from 64 (384 rows, 384 deep: 85 GFLOP/s at 32, 105 at 64, 108 at 128).
    internal const int PixelGemmImages = 128;

    /// <summary>
    /// The forward of <paramref name="g"/> by <paramref name="algorithm"/> (<see cref="ConvPlanner"/>'s choice, never Auto);
    /// Winograd's blocks of images fill <paramref name="winogradBlockColumns"/> GEMM columns (0: the default).
    /// <paramref name="cached"/>: the plan lives across calls (<see cref="ConvPlanCache"/>), so it keeps Winograd's buffers,
    /// one set per thread that ran it at once, for the next call instead of renting and clearing them anew.
    /// </summary>
    public ConvForwardPlan(in Conv2dGeometry g, ReadOnlySpan<float> w, ConvAlgorithm algorithm, int winogradBlockColumns = 0,
        bool cached = false)
    {
        _cached = cached;
        if (!ConvPlanner.CanRun(algorithm, g)) throw new ArgumentException($"{algorithm} cannot run {g}", nameof(algorithm));
        _g = g;
        Algorithm = algorithm;
        ImagesPerBlock = 1;
        _packed = [];
        switch (algorithm)
        {
            case ConvAlgorithm.Depthwise:
                _depthwise = true;
                _directWeights = ArrayPool<float>.Shared.Rent(g.OC * g.KH * g.KW);
                w[..(g.OC * g.KH * g.KW)].CopyTo(_directWeights);
                break;
            case ConvAlgorithm.Winograd or ConvAlgorithm.Winograd4x4 or ConvAlgorithm.Winograd5x5:
                int side = WinogradBlock.TileSideOf(algorithm);
                _winograd = new WinogradBlock(g.H, g.W, winogradBlockColumns, side, g.KH, g.Cg, forward: true);
                ImagesPerBlock = _winograd.Images;
                _winogradWeights = new WinogradWeights(g, w, inputGradient: false, side);
                break;
            case ConvAlgorithm.SingleChannel:
                _singleChannel = true;
                _directWeights = ArrayPool<float>.Shared.Rent(g.OC * 9);
                w[..(g.OC * 9)].CopyTo(_directWeights);
                break;
            case ConvAlgorithm.ChannelBlocked:
                _direct = new ChannelBlockedConv(g);
                _directWeights = ArrayPool<float>.Shared.Rent(_direct.PackedLength);
                _direct.PackWeights(w, _directWeights);
                break;
            case ConvAlgorithm.OutputRows:
                _rows = new OutputRowConv(g);
                _directWeights = ArrayPool<float>.Shared.Rent(_rows.PackedLength);
                _rows.PackWeights(w, _directWeights);
                break;
            case ConvAlgorithm.PixelGemm:
                _pixels = PixelGemmConv.For(g);
                ImagesPerBlock = _pixels.BlockImages(PixelGemmImages);
                _pixelTaps = _pixels.PackTaps(w, transposed: false, ImagesPerBlock);
                break;
            case ConvAlgorithm.WeightRows:
                _weightRows = new WeightRowConv(g);
                break;
            case ConvAlgorithm.WinogradGemm:
                _winogradGemm = new WinogradGemm(g, w, inputGradient: false, winogradBlockColumns);
                ImagesPerBlock = _winogradGemm.ImagesPerBlock;
                break;
            case ConvAlgorithm.Im2ColGemm:
                _packed = Conv2dKernel.PackWeights(g, w, transpose: false);
                break;
            default:
                throw new ArgumentException($"a forward plan needs a concrete algorithm, not {algorithm}", nameof(algorithm));
        }
    }

    /// <summary>The algorithm this plan runs.</summary>
    public ConvAlgorithm Algorithm { get; }

    /// <summary>Whether <paramref name="algorithm"/>'s plan holds weights prepared from the given ones (all but the weight rows).</summary>
    public static bool PreparesWeights(ConvAlgorithm algorithm) => algorithm != ConvAlgorithm.WeightRows;

    /// <summary>One thread's buffers for <see cref="Run"/>; dispose to return them.</summary>
    public sealed class Workspace : IDisposable
    {
        internal float[]? Col;
        internal WinogradBlock.Buffers? Winograd;
        internal WinogradGemm.Buffers? WinogradGemm;
        internal float[]? Scratch;
        // The plan that keeps a direct kernel's zero-bordered scratch for its next call (null: the scratch goes back to the pool).
        internal ConvForwardPlan? Keeper;
        // The weights as given, pinned by the caller while the workspace lives (the weight rows read them in place).
        internal float* Weights;

        public void Dispose()
        {
            if (Col is not null) ArrayPool<float>.Shared.Return(Col);
            if (Scratch is not null)
                if (Keeper is not null) Keeper.Keep(Scratch);
                else ArrayPool<float>.Shared.Return(Scratch);
            if (Winograd is { Kept: true }) Keeper!.Keep(Winograd);
            else Winograd?.Dispose();
            WinogradGemm?.Dispose();
            (Col, Winograd, WinogradGemm, Scratch, Keeper) = (null, null, null, null, null);
        }
    }

    // The direct kernels' padded-image scratches of earlier calls, one per thread that ran at once: each image writes only
    // their inside, so their border is still zero and a later call takes one as it is. Clearing a fresh one on every call
    // was a visible share of a small layer's time at batch 1, where a cached plan runs once per image.
    private readonly Stack<float[]> _zeroBordered = new();

    private void Keep(float[] scratch)
    {
        lock (_zeroBordered) _zeroBordered.Push(scratch);
    }

    // A cached plan's Winograd buffers of earlier calls, one per thread that ran at once: V's columns past the tiles and
    // the transform's scratch border are zero from when they were made and never written, so a later call takes them as
    // they are (clearing them on every call was a visible share of a layer's time at batch 1).
    private readonly bool _cached;
    private readonly Stack<WinogradBlock.Buffers> _keptWinograd = new();

    private void Keep(WinogradBlock.Buffers buffers)
    {
        lock (_keptWinograd) _keptWinograd.Push(buffers);
    }

    private WinogradBlock.Buffers RentWinograd()
    {
        if (!_cached) return _winograd!.Rent(_g.Cg);
        WinogradBlock.Buffers? kept;
        lock (_keptWinograd) _keptWinograd.TryPop(out kept);
        return kept ?? _winograd!.Rent(_g.Cg, kept: true);
    }

    /// <summary>One thread's buffers, for a plan that holds its weights prepared (<see cref="PreparesWeights"/>).</summary>
    public Workspace Rent() => Rent(null);

    /// <summary>
    /// One thread's buffers. <paramref name="weights"/>: the weights as the plan was made from, pinned until the workspace is
    /// disposed, for an algorithm that reads them where they lie (<see cref="PreparesWeights"/> false; the others ignore them).
    /// </summary>
    public Workspace Rent(float* weights)
    {
        if (_weightRows is not null)
        {
            if (weights == null) throw new ArgumentNullException(nameof(weights), "the weight-row convolution reads the weights as given");
            return new Workspace { Col = ArrayPool<float>.Shared.Rent(checked((int)_weightRows.ScratchLength)), Weights = weights };
        }
        if (_depthwise) return new Workspace { Scratch = ArrayPool<float>.Shared.Rent(DepthwiseConv.ScratchLength(_g)) };
        if (_winograd is not null) return new Workspace { Winograd = RentWinograd(), Keeper = _cached ? this : null };
        if (_winogradGemm is not null) return new Workspace { WinogradGemm = _winogradGemm.Rent() };
        if (_pixels is not null)
            return new Workspace { Col = ArrayPool<float>.Shared.Rent(checked((int)(_pixels.InputLength(ImagesPerBlock)
                + _pixels.OutputLength(ImagesPerBlock)))) };
        if (_direct is null && _rows is null && !_singleChannel) return new Workspace { Col = Conv2dKernel.ColumnBuffer(_g) };
        float[]? scratch;
        lock (_zeroBordered) _zeroBordered.TryPop(out scratch);
        if (scratch is null)
        {
            int length = Math.Max(1, _direct?.PaddedLength ?? _rows?.PaddedLength ?? SingleChannelConv3x3.ScratchLength(_g));
            scratch = ArrayPool<float>.Shared.Rent(length);
            Array.Clear(scratch, 0, length);
        }
        return new Workspace { Scratch = scratch, Keeper = this };
    }

    /// <summary>
    /// Runs <paramref name="body"/> over images [0, <paramref name="images"/>) in ranges as this plan's blocks want them: the pixel
    /// GEMMs' blocks one after the other (each spreads its GEMMs or pixels over the threads, its images being their columns),
    /// every other algorithm's images divided among the threads.
    /// </summary>
    public void ForImages(int images, Action<int, int> body)
    {
        if (_pixels is not null) body(0, images);
        else Parallelism.For(images, 1, body);
    }

    /// <summary>Whether <see cref="Run"/> stores a leaky ReLU itself: the direct channel-blocked and output-row kernels do.</summary>
    public bool StoresLeaky => _direct is not null || _rows is not null;

    /// <summary>
    /// y [count, OC, OH·OW] = act(conv(x [count, C, H, W]) + bias) for count ≤ <see cref="ImagesPerBlock"/>
    /// images; bias (null: none) and ReLU as in <see cref="Conv2dKernel.ForwardCached"/>, or a leaky ReLU where
    /// <see cref="StoresLeaky"/>. <paramref name="next"/>: the images the caller runs next (empty: none), whose first the
    /// direct kernels (channel-blocked, output rows), Winograd's products and a pointwise GEMM that packs its input ask for while
    /// these run.
    /// </summary>
    public void Run(Workspace ws, ReadOnlySpan<float> x, int count, float* bias, Rectifier act, Span<float> y, ReadOnlySpan<float> next = default)
    {
        if (count < 1 || count > ImagesPerBlock) throw new ArgumentOutOfRangeException(nameof(count), count,
            $"1 to {ImagesPerBlock} images per block");
        if (act.IsLeaky && !StoresLeaky) throw new ArgumentException($"this convolution's kernels store no {act}", nameof(act));
        bool relu = act.IsRelu;
        int xImage = _g.C * _g.H * _g.W, yImage = _g.OC * _g.ColCols;
        if (x.Length < count * xImage || y.Length < count * yImage) throw new ArgumentException($"x or y too small for {count} images");
        if (_depthwise)
        {
            fixed (float* px = x, py = y, pw = _directWeights, scratch = ws.Scratch) DepthwiseConv.ForwardImage(_g, px, pw, bias, relu, py, scratch);
            return;
        }
        if (_weightRows is not null)
        {
            fixed (float* px = x, py = y, scratch = ws.Col)
                for (int s = 0; s < count; s++)
                    _weightRows.ForwardImage(px + (long)s * xImage, ws.Weights, bias, relu, py + (long)s * yImage, scratch);
            return;
        }
        if (_winogradGemm is not null)
        {
            fixed (float* px = x, py = y) _winogradGemm.Forward(ws.WinogradGemm!, px, xImage, count, bias, relu, false, py, yImage);
            return;
        }
        if (_pixels is not null)
        {
            fixed (float* px = x, py = y, scratch = ws.Col)
                _pixels.Forward(px, count, _pixelTaps, bias, act, py, scratch, scratch + _pixels.InputLength(count));
            return;
        }
        if (_direct is not null || _rows is not null || _singleChannel)
        {
            fixed (float* px = x, py = y, pw = _directWeights, scratch = ws.Scratch, pn = next)
            {
                float* following = next.Length >= xImage ? pn : null;
                if (_direct is not null) _direct.ForwardImage(px, pw, bias, act, py, scratch, following);
                else if (_rows is not null) _rows.ForwardImage(px, pw, bias, act, py, scratch, following);
                else SingleChannelConv3x3.ForwardImage(_g, px, pw, bias, relu, py, scratch);
            }
            return;
        }
        if (_winograd is null)
        {
            fixed (float* pn = next)
                Conv2dKernel.ForwardImage(_g, x[..xImage], _packed, ws.Col, bias, relu, y[..yImage],
                    next.Length >= xImage ? pn : null);
            return;
        }
        int cg = _g.Cg, ocg = _g.OCg, plane = _g.H * _g.W;
        var buffers = ws.Winograd!;
        int nextImages = Math.Min(count, next.Length / xImage);
        fixed (float* px = x, py = y, pn = next)
            for (int grp = 0; grp < _g.G; grp++)
            {
                for (int s = 0; s < count; s++)
                    _winograd.TransformInput(buffers, px + ((long)s * _g.C + grp * cg) * plane, cg, 0, s);
                // The planes transformed next, the next group's or the next block's first, asked for while the products run.
                var ahead = grp + 1 < _g.G ? new RegionStream(px + (grp + 1L) * cg * plane, xImage, count, (long)cg * plane)
                    : nextImages > 0 ? new RegionStream(pn, xImage, nextImages, (long)cg * plane) : default;
                _winograd.MultiplyAndTransformOutput(buffers, _winogradWeights!, grp, 0, count, py + (long)grp * ocg * plane,
                    (long)_g.OC * plane, bias != null ? bias + grp * ocg : null, relu, accumulate: false, ahead);
            }
    }

    public void Dispose()
    {
        foreach (var packed in _packed) packed.Dispose();
        foreach (var packed in _pixelTaps) packed.Dispose();
        _winogradWeights?.Dispose();
        _winogradGemm?.Dispose();
        if (_directWeights is not null) ArrayPool<float>.Shared.Return(_directWeights);
        lock (_zeroBordered)
            while (_zeroBordered.TryPop(out var scratch)) ArrayPool<float>.Shared.Return(scratch);
    }
}
