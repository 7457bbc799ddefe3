namespace CnnLab.Kernels;

// Legend as in Conv2dKernel.cs; one group (G = 1). t = u·KW + v a tap of the kernel, p an output pixel, a an input pixel,
// B the images of a block (the GEMMs' columns). A pair (p, t) is a tap whose input pixel a(p, t) lies inside the plane:
// a(p, t) = (i·SH − PH + u·DH, j·SW − PW + v·DW) for p = (i, j). Pixel-major layouts put the batch innermost:
// xt [H·W, C, B] (xt[(a·C + c)·B + n] = x[n, c, a]), yt [P, OC, B].

/// <summary>
/// A convolution of small planes as one GEMM per output pixel, the images of a block as its columns, over only the taps
/// that land inside the plane: Y_p [OC, B] = Σ_{t: (p, t) a pair} W_t [OC, C] · X_{a(p, t)} [C, B]. On a 2x2 plane with a 3x3
/// kernel and padding 1, 16 of the 36 (pixel, tap) products are inside (as few as Winograd F(2x2, 3x3)'s), on 4x4 → 2x2 at
/// stride 2, 25 of 36; direct kernels and im2col multiply the padding's zeros all the same, and their 4 or 16 pixels an image
/// leave their register tiles or GEMM columns short. dx is the same turned round (DX_a [C, B] = Σ W_tᵀ · DY_p over the pairs
/// reaching a), dW one GEMM per pair along the batch (dW_t [OC, C] += DY_p · X_aᵀ). Each output is a sum of the same products
/// as <see cref="Conv2dReference"/>'s, tap by tap in order, each tap's a GEMM chain over the channels (the GEMM's order, which
/// does not depend on the columns or the threads, so each image gets the same bits in any block). Written by hand around
/// <see cref="Gemm"/>: no .NET library has a convolution.
/// </summary>
/// <remarks>
/// PyTorch: what oneDNN's "gemm:jit" convolution does with the minibatch folded into the GEMM's columns; ConvPlanner decides
/// where skipping the padding pays.
/// </remarks>
internal sealed unsafe partial class PixelGemmConv
{
    private readonly Conv2dGeometry _g;
    private readonly int _taps, _inputPixels;
    // The pairs by output pixel (for y and dW) and by input pixel (for dx), each in tap order: pixel k's pairs are
    // [start[k], start[k + 1]) of tap[] and other[] (other: the input pixel, or the output pixel).
    private readonly int[] _outStart, _outTap, _outInput, _inStart, _inTap, _inOutput;
    // The pairs by tap, in output-pixel order (for dW): tap t's are [_tapStart[t], _tapStart[t + 1]) of _tapOutput and _tapInput.
    private readonly int[] _tapStart, _tapOutput, _tapInput;

    // One per layer shape (the batch aside): the backward of every training step asks for it.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Conv2dGeometry, PixelGemmConv> s_shapes = new();

    /// <summary>The tables of <paramref name="g"/>'s shape (its batch size aside), made once.</summary>
    public static PixelGemmConv For(in Conv2dGeometry g) => s_shapes.GetOrAdd(g with { N = 0 }, shape => new PixelGemmConv(shape));

    private PixelGemmConv(in Conv2dGeometry g)
    {
        if (!Supports(g)) throw new ArgumentException($"the pixel GEMM convolution takes one group, not {g.G}");
        _g = g;
        (_taps, _inputPixels) = (g.KH * g.KW, g.H * g.W);
        var byOutput = new List<(int p, int t, int a)>();
        for (int i = 0; i < g.OH; i++)
            for (int j = 0; j < g.OW; j++)
                for (int u = 0; u < g.KH; u++)
                    for (int v = 0; v < g.KW; v++)
                    {
                        int row = i * g.SH - g.PH + u * g.DH, col = j * g.SW - g.PW + v * g.DW;
                        if (row >= 0 && row < g.H && col >= 0 && col < g.W) byOutput.Add((i * g.OW + j, u * g.KW + v, row * g.W + col));
                    }
        (_outStart, _outTap, _outInput) = Index(byOutput, g.ColCols, pair => pair.p, pair => pair.a);
        var byInput = byOutput.OrderBy(pair => pair.a).ThenBy(pair => pair.t).ToList();
        (_inStart, _inTap, _inOutput) = Index(byInput, _inputPixels, pair => pair.a, pair => pair.p);
        var byTap = byOutput.OrderBy(pair => pair.t).ThenBy(pair => pair.p).ToList();
        (_tapStart, _, _tapOutput) = Index(byTap, _taps, pair => pair.t, pair => pair.p);
        _tapInput = byTap.Select(pair => pair.a).ToArray();
    }

    // start[k] … start[k + 1]: the pairs of pixel k (the list sorted by it), their taps and their other pixels.
    private static (int[], int[], int[]) Index(List<(int p, int t, int a)> pairs, int pixels, Func<(int p, int t, int a), int> key,
        Func<(int p, int t, int a), int> other)
    {
        var start = new int[pixels + 1];
        foreach (var pair in pairs) start[key(pair) + 1]++;
        for (int k = 0; k < pixels; k++) start[k + 1] += start[k];
        return (start, pairs.Select(pair => pair.t).ToArray(), pairs.Select(other).ToArray());
    }

    /// <summary>
    /// The (output pixel, tap) pairs of <paramref name="g"/> whose input lies inside the plane: the rows' count times the
    /// columns' (a pair is inside where its row and its column are).
    /// </summary>
    public static long CountPairs(in Conv2dGeometry g) =>
        Inside(g.OH, g.KH, g.SH, g.PH, g.DH, g.H) * Inside(g.OW, g.KW, g.SW, g.PW, g.DW, g.W);

    private static long Inside(int outputs, int kernel, int stride, int padding, int dilation, int size)
    {
        long count = 0;
        for (int i = 0; i < outputs; i++)
            for (int u = 0; u < kernel; u++)
                if ((uint)(i * stride - padding + u * dilation) < (uint)size) count++;
        return count;
    }

    /// <summary>One group (any kernel, stride, padding and dilation).</summary>
    public static bool Supports(in Conv2dGeometry g) => g.G == 1;

    /// <summary>Floats of the weights as one matrix per tap: KH·KW·OC·C.</summary>
    public int PackedLength => _taps * _g.OC * _g.C;

    /// <summary>
    /// The weights [OC, C, KH, KW] as one matrix per tap, each packed once for the GEMM's products with up to
    /// <paramref name="columns"/> columns: W_t [OC, C], or with <paramref name="transposed"/> W_tᵀ [C, OC] (for dx). Dispose each.
    /// </summary>
    public Gemm.PackedA[] PackTaps(ReadOnlySpan<float> w, bool transposed, int columns)
    {
        int c = _g.C, oc = _g.OC;
        int matrix = oc * c;
        float[] tapMajor = System.Buffers.ArrayPool<float>.Shared.Rent(PackedLength);
        try
        {
            fixed (float* pw = w, to = tapMajor)
                // Blocks of 256 values a tap: the taps' matrices lie a multiple of 4 KB apart, and writing all of them value by
                // value kept their lines fighting over the same L1 sets.
                for (int i0 = 0; i0 < matrix; i0 += 256)
                {
                    int end = Math.Min(matrix, i0 + 256);
                    for (int t = 0; t < _taps; t++)
                    {
                        float* dst = to + (long)t * matrix, src = pw + t;
                        for (int i = i0; i < end; i++) dst[i] = src[(long)i * _taps];
                    }
                }
            var packed = new Gemm.PackedA[_taps];
            for (int t = 0; t < _taps; t++)
            {
                var a = tapMajor.AsSpan(t * matrix, matrix);
                packed[t] = transposed ? Gemm.PackAOnce(true, c, oc, a, c, columns) : Gemm.PackAOnce(false, oc, c, a, c, columns);
            }
            return packed;
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(tapMajor);
        }
    }

    /// <summary>Floats of the pixel-major input of a block of <paramref name="images"/>: H·W·C·B.</summary>
    public long InputLength(int images) => (long)_inputPixels * _g.C * images;

    /// <summary>Floats of the pixel-major output (or dy) of a block of <paramref name="images"/>: P·OC·B.</summary>
    public long OutputLength(int images) => (long)_g.ColCols * _g.OC * images;

    /// <summary>
    /// Images a forward block takes: up to <paramref name="most"/>, as many as keep its pixel-major input and output within
    /// <see cref="BlockFloats"/> (a pinned layer on a large plane runs a few images at a time), at least one.
    /// </summary>
    public int BlockImages(int most) => (int)Math.Clamp(BlockFloats / (InputLength(1) + OutputLength(1)), 1, most);

    /// <summary>Floats of a forward block's pixel-major scratch at most (64 MB), unless one image needs more.</summary>
    public const long BlockFloats = 1L << 24;

    // Pixels in parallel where each pixel's GEMMs are too small to split among the threads themselves (Gemm's own threshold);
    // each pixel's sums are the same either way.
    private static void ForPixels(int pixels, long multiplyAdds, Action<int> pixel)
    {
        if (multiplyAdds >= Gemm.ParallelThreshold) for (int k = 0; k < pixels; k++) pixel(k);
        else Parallelism.For(pixels, 1, (k0, k1) =>
        {
            for (int k = k0; k < k1; k++) pixel(k);
        });
    }

    /// <summary>
    /// y [B, OC, P] = act(conv(x [B, C, H, W]) + bias) (bias null: none) of <paramref name="images"/> images, by the weights of
    /// <see cref="PackTaps"/>; <paramref name="xt"/> and <paramref name="yt"/>: <see cref="InputLength"/> and
    /// <see cref="OutputLength"/> floats of scratch. Its pixels (or their GEMMs, where large) run on every thread, on this one
    /// inside a parallel loop.
    /// </summary>
    public void Forward(float* x, int images, Gemm.PackedA[] taps, float* bias, Rectifier act, float* y, float* xt, float* yt)
    {
        PixelMajor.Gather(x, images, _g.C, _inputPixels, xt);
        int c = _g.C, oc = _g.OC;
        nint xs = (nint)xt, ys = (nint)yt;
        ForPixels(_g.ColCols, (long)oc * images * c, p =>
        {
            var yp = new Span<float>((float*)ys + (long)p * oc * images, oc * images);
            if (_outStart[p] == _outStart[p + 1]) yp.Clear();   // every tap in the padding
            for (int k = _outStart[p]; k < _outStart[p + 1]; k++)
                Gemm.SgemmPackedA(taps[_outTap[k]], images, 1f, false, Matrix((float*)xs + (long)_outInput[k] * c * images, c * images),
                    images, k == _outStart[p] ? 0f : 1f, yp, images, GemmEpilogue.None);
        });
        PixelMajor.Scatter(yt, images, oc, _g.ColCols, bias, act, y, add: false);
    }

    /// <summary>
    /// dx [N, C, H, W] (written, or added to with <paramref name="add"/>) from dy in pixel-major form (<paramref name="dyt"/>
    /// [P, OC, N]) by the transposed taps of <see cref="PackTaps"/>; <paramref name="dxt"/>: <see cref="InputLength"/>(N)
    /// floats of scratch.
    /// </summary>
    public void InputGradient(float* dyt, int images, Gemm.PackedA[] tapsT, float* dx, bool add, float* dxt)
    {
        int c = _g.C, oc = _g.OC;
        nint dys = (nint)dyt, dxs = (nint)dxt;
        ForPixels(_inputPixels, (long)c * images * oc, a =>
        {
            var xa = new Span<float>((float*)dxs + (long)a * c * images, c * images);
            if (_inStart[a] == _inStart[a + 1]) xa.Clear();   // a pixel no output reads (a stride that skips it)
            for (int k = _inStart[a]; k < _inStart[a + 1]; k++)
                Gemm.SgemmPackedA(tapsT[_inTap[k]], images, 1f, false, Matrix((float*)dys + (long)_inOutput[k] * oc * images, oc * images),
                    images, k == _inStart[a] ? 0f : 1f, xa, images, GemmEpilogue.None);
        });
        PixelMajor.Scatter(dxt, images, c, _inputPixels, null, default, dx, add);
    }

    /// <summary>
    /// dw [OC, C, KH, KW] += Σ over the images of dy · x, from both in pixel-major form (<paramref name="dyt"/> [P, OC, N],
    /// <paramref name="xt"/> [H·W, C, N]); <paramref name="sums"/>: <see cref="PackedLength"/> floats of scratch. Each tap's
    /// pairs add up in output-pixel order, each a GEMM chain along the batch.
    /// </summary>
    public void WeightGradient(float* dyt, float* xt, int images, float* dw, float* sums)
    {
        int c = _g.C, oc = _g.OC;
        nint dys = (nint)dyt, xs = (nint)xt, ss = (nint)sums;
        ForPixels(_taps, (long)oc * c * images, t =>
        {
            var st = new Span<float>((float*)ss + (long)t * oc * c, oc * c);
            st.Clear();   // a tap whose every input is padding adds nothing
            for (int k = _tapStart[t]; k < _tapStart[t + 1]; k++)
                Gemm.Sgemm(false, true, oc, c, images, 1f, Matrix((float*)dys + (long)_tapOutput[k] * oc * images, oc * images), images,
                    Matrix((float*)xs + (long)_tapInput[k] * c * images, c * images), images, 1f, st, c);
        });
        AddTapMajor(sums, (long)oc * c, _taps, dw);
    }

    // dw[i·taps + t] += sums[t·matrix + i]: the taps' matrices back into [OC, C, KH, KW], dw written in order.
    private static void AddTapMajor(float* sums, long matrix, int taps, float* dw)
    {
        for (long i = 0; i < matrix; i++)
        {
            float* to = dw + i * taps, from = sums + i;
            for (int t = 0; t < taps; t++, from += matrix) to[t] += *from;
        }
    }

    private static ReadOnlySpan<float> Matrix(float* at, int length) => new(at, length);
}
