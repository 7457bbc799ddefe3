using System.Runtime.Intrinsics.X86;
using CnnLab.Kernels;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// The Winograd F(2x2, 3x3) path of the convolution (forward, and dx in the backward) against the
/// direct-loop <see cref="Conv2dReference"/>, on planes whose tiles cross the edges, more than 16 tiles
/// in a row, groups, full and short blocks of images; and its independence from the thread count.
/// </summary>
public class Winograd3x3Tests
{
    [Fact]
    public unsafe void Eight_kernels_in_lanes_have_the_bits_of_one_at_a_time()
    {
        KernelTransformLanes.AssertSameBits(16, &Winograd3x3.TransformKernels, &Winograd3x3.TransformKernel);
    }

    private static Conv2dGeometry Same3x3(int n, int c, int h, int w, int oc, int groups = 1) => new(n, c, h, w, oc, 3, 3, PH: 1, PW: 1, G: groups);

    public static TheoryData<int, int, int, int, int, int, int> Shapes() => new()
    {
        // n, c, h, w, oc, groups, block columns (0: the default; small ones make full and short blocks of a few images)
        { 2, 32, 14, 14, 64, 1, 0 },
        { 5, 16, 14, 14, 24, 1, 100 },   // blocks of 2 images: two full, one short
        { 3, 16, 7, 9, 16, 1, 0 },        // odd sizes: the last tile row and column half outside
        { 2, 16, 5, 40, 16, 1, 0 },       // 20 tiles in a row: two 16-tile vectors, output rows of two 32-float pieces
        { 3, 32, 6, 3, 32, 2, 8 },        // groups; blocks of 1 image
        { 2, 16, 1, 1, 16, 1, 0 },        // one pixel: only the kernel's centre sees the image
        { 4, 16, 2, 35, 17, 1, 36 },      // a row of 35: 18 tiles; 2-image blocks
        { 2, 16, 3, 100, 16, 1, 0 },      // 50 tiles a row: multiply chunks of two tile rows in three 48-tile passes
        { 2, 16, 5, 56, 16, 1, 0 },       // 28 tiles a row: chunks of three tile rows in two passes
        { 3, 20, 4, 4, 20, 1, 0 },        // 2x2 tiles a plane: a chunk spans the block's images; 20 rows: a block of 4 of 8
        { 2, 18, 6, 6, 19, 1, 0 },        // 18 and 19 channels: the weight gradient's 4 x 4 dot blocks past both edges
    };

    [Theory]
    [InlineData(14, 14)]
    [InlineData(7, 7)]
    [InlineData(1, 1)]
    [InlineData(2, 30)]   // the widest narrow plane: 15 tiles, two loads a row
    [InlineData(5, 17)]
    [InlineData(3, 16)]
    [InlineData(4, 15)]
    [InlineData(28, 28)]
    public unsafe void NarrowInputTransformKeepsTheScratchPathsBits(int h, int w)
    {
        // Each row made in registers against split into the scratch and read back: every float written,
        // the spill past the plane's last tile included, on values with NaN, ±Inf and −0. The plane sits at
        // the end of its buffer, so the last rows' loads must stop at its end.
        if (!Avx512F.IsSupported) return;
        var r = new Generator(h * 100 + w);
        var x = new float[h * w];
        for (int i = 0; i < x.Length; i++)
            x[i] = r.NextInt(20) switch { 0 => float.NaN, 1 => float.NegativeInfinity, 2 => -0f, _ => r.NextInt(9) - 4 + 0.25f * r.NextInt(4) };
        int tiles = (h + 1) / 2 * ((w + 1) / 2), xiStride = tiles + 16;
        var narrow = new float[16 * xiStride + 16];
        var split = new float[narrow.Length];
        Array.Fill(narrow, 7f);
        Array.Fill(split, 7f);
        var scratch = new float[Winograd3x3.ScratchLength(h, w)];
        fixed (float* px = x, pn = narrow, ps = split, sc = scratch)
        {
            Winograd3x3.TransformNarrowInput(px, h, w, pn, xiStride);
            Winograd3x3.TransformSplitInput(px, h, w, sc, ps, xiStride);
        }
        Assert.Equal(split.Select(BitConverter.SingleToInt32Bits), narrow.Select(BitConverter.SingleToInt32Bits));
        Assert.Contains(narrow.AsSpan(0, tiles).ToArray(), v => v != 7f);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void ForwardAndBackwardMatchTheReference(int n, int c, int h, int w, int oc, int groups, int blockColumns)
    {
        if (!Avx512F.IsSupported) return; // the path runs on AVX-512 machines only (the planner never picks it elsewhere)
        var g = Same3x3(n, c, h, w, oc, groups);
        Assert.True(ConvPlanner.CanRun(ConvAlgorithm.Winograd, g));
        var (x, wt, b, dy) = Inputs(g, n * 131 + c);
        var y = new float[dy.Length];
        var yRef = new float[dy.Length];
        Forward(g, x, wt, b, y, blockColumns);
        Conv2dReference.Forward(g, x, wt, b, true, yRef);
        AssertClose(yRef, y, $"forward {g}");

        // "+=" from a nonzero start, and overwriting a NaN-filled dx.
        float[] dx = Filled(x.Length, 0.5f), dw = Filled(wt.Length, 0.5f), db = Filled(b.Length, 0.5f);
        float[] dxRef = Filled(x.Length, 0.5f), dwRef = Filled(wt.Length, 0.5f), dbRef = Filled(b.Length, 0.5f);
        Backward(g, x, wt, dy, dx, dw, db, blockColumns);
        Conv2dReference.Backward(g, x, wt, dy, dxRef, dwRef, dbRef);
        AssertClose(dxRef, dx, $"dx {g}");
        AssertClose(dwRef, dw, $"dw {g}");
        AssertClose(dbRef, db, $"db {g}");

        var dxOver = Filled(x.Length, float.NaN);
        Backward(g, x, wt, dy, dxOver, [], [], blockColumns, overwriteDx: true);
        for (int i = 0; i < dx.Length; i++) dxRef[i] -= 0.5f;
        AssertClose(dxRef, dxOver, $"overwritten dx {g}");
    }

    // Conv2dKernel.Forward and Backward (with bias, dy stored whole) with Winograd's blocks of images cut at blockColumns
    // GEMM columns (0: the default), which the public entry points leave at the default.
    private static void Forward(in Conv2dGeometry g, float[] x, float[] w, float[] b, float[] y, int blockColumns, bool relu = false) =>
        Conv2dKernel.ForwardCached(g, x, w, b, true, y, relu, default, default, weightsKey: null, ConvAlgorithm.Winograd,
            winogradBlockColumns: blockColumns);

    private static unsafe void Backward(in Conv2dGeometry g, float[] x, float[] w, float[] dy, float[] dx, float[] dw, float[] db,
        int blockColumns, bool overwriteDx = false)
    {
        fixed (float* pdy = dy)
            Conv2dKernel.BackwardCore(g, x, w, new PlainGradient(g, pdy), dx, dw, db, overwriteDx, ConvAlgorithm.Winograd, blockColumns);
    }

    [Fact]
    public void ResultsDoNotDependOnTheThreadCountOrTheBlockSize()
    {
        // Blocks of 8, 2 or 1 images; 48 inputs: the weight gradient's products with V turned round.
        Winograd4x4Tests.SameBitsForAnyThreadCountOrBlock(Same3x3(40, 16, 9, 11, 32), ConvAlgorithm.Winograd, [0, 60, 30]);
        Winograd4x4Tests.SameBitsForAnyThreadCountOrBlock(Same3x3(40, 48, 9, 11, 32), ConvAlgorithm.Winograd, [0, 60, 30]);
    }

    [Fact]
    public void FusedConvReluPoolKeepsTheBitsOfTheOpsInARow()
    {
        if (!Avx512F.IsSupported) return;
        // The fused op and the plain forward share the Winograd path, so the pooled values are the pool of the plain y.
        var g = Same3x3(9, 16, 8, 8, 16);
        var pool = new Pool2dGeometry(g.N, g.OC, g.OH, g.OW, 2, 2, 2, 2, 0, 0);
        var (x, wt, b, _) = Inputs(g, 3);
        var y = new float[g.N * g.OC * g.ColCols];
        Conv2dKernel.Forward(g, x, wt, b, true, y, relu: true);
        int q = pool.OH * pool.OW;
        float[] pooled = new float[g.N * g.OC * q], expected = new float[pooled.Length];
        int[] at = new int[pooled.Length], expectedAt = new int[pooled.Length];
        ConvReluMaxPoolKernel.Forward(g, pool, x, wt, b, true, pooled, at);
        MaxPool2dKernel.Forward(pool, y, expected, expectedAt);
        Assert.Equal(expected, pooled);
        Assert.Equal(expectedAt, at);
    }

    [Fact]
    public void AppliesToThreeByThreeSameConvolutionsWithEnoughChannels()
    {
        if (!Avx512F.IsSupported) return;
        Assert.True(Chosen(Same3x3(2, 32, 14, 14, 64)));
        Assert.False(Chosen(Same3x3(1, 16, 14, 14, 16)));                     // one image, 49 tiles of 16 channels
        Assert.True(Chosen(Same3x3(1, 32, 14, 14, 64)));                      // one image, 49 tiles of 32 channels
        Assert.False(Chosen(Same3x3(1, 16, 12, 12, 16)));                     // one image, 36 tiles of 16: too few
        Assert.True(Chosen(Same3x3(1, 32, 28, 28, 32)));                      // one image, 196 tiles of 32
        Assert.False(Chosen(Same3x3(1, 1, 28, 28, 32)));                      // one input channel: im2col
        Assert.False(Chosen(Same3x3(1, 32, 14, 14, 8)));                      // few output channels
        Assert.False(Chosen(new Conv2dGeometry(1, 32, 14, 14, 32, 3, 3, 2, 2, 1, 1)));      // stride 2
        Assert.False(Chosen(new Conv2dGeometry(1, 32, 14, 14, 32, 3, 3, PH: 0, PW: 0)));    // no padding
        Assert.False(Chosen(new Conv2dGeometry(1, 32, 14, 14, 32, 3, 3, PH: 2, PW: 2, DH: 2, DW: 2))); // dilated
        Assert.False(Chosen(new Conv2dGeometry(1, 32, 14, 14, 32, 5, 5, PH: 2, PW: 2)));
        Assert.Equal(ConvAlgorithm.Im2ColGemm, ConvPlanner.Plan(Same3x3(2, 32, 14, 14, 64), ConvAlgorithm.Im2ColGemm).Forward);
        static bool Chosen(in Conv2dGeometry g) => ConvPlanner.Plan(g).Forward is ConvAlgorithm.Winograd or ConvAlgorithm.Winograd4x4;
    }

    [Fact]
    public unsafe void KernelTransformIsGTimesKTimesGTransposed()
    {
        double[,] gm = { { 1, 0, 0 }, { 0.5, 0.5, 0.5 }, { 0.5, -0.5, 0.5 }, { 0, 0, 1 } };
        var rnd = new Generator(5);
        var k = new float[9];
        rnd.FillNormal(k, 0, 1);
        foreach (bool turned in new[] { false, true })
        {
            var u = new float[16 * 3];
            fixed (float* pk = k, pu = u) Winograd3x3.TransformKernel(pk, turned, pu, 3);
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++)
                {
                    double sum = 0;
                    for (int a = 0; a < 3; a++)
                        for (int c = 0; c < 3; c++)
                            sum += gm[i, a] * (turned ? k[(2 - a) * 3 + 2 - c] : k[a * 3 + c]) * gm[j, c];
                    Assert.Equal(sum, u[(4 * i + j) * 3], 5);
                }
        }
    }

    private static (float[] x, float[] w, float[] b, float[] dy) Inputs(Conv2dGeometry g, long seed)
    {
        var rnd = new Generator(seed);
        var x = new float[g.N * g.C * g.H * g.W];
        var w = new float[g.OC * g.ColRows];
        var b = new float[g.OC];
        var dy = new float[g.N * g.OC * g.ColCols];
        rnd.FillNormal(x, 0, 1); rnd.FillNormal(w, 0, 1); rnd.FillNormal(b, 0, 1); rnd.FillNormal(dy, 0, 1);
        return (x, w, b, dy);
    }

    private static float[] Filled(int length, float value)
    {
        var a = new float[length];
        Array.Fill(a, value);
        return a;
    }

    // Relative to the sum's scale: the transforms add partial products before the GEMM sums them.
    private static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = 1;
        foreach (var v in expected) scale = Math.Max(scale, Math.Abs(v));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 2e-5 * scale + 1e-5 * Math.Abs(expected[i]),
                $"{what}: element {i} is {actual[i]}, reference {expected[i]} (scale {scale})");
    }
}
