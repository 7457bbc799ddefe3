using System.Runtime.Intrinsics.X86;
using CnnLab.Kernels;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// Winograd F(4x4, 3x3): its transforms and their adjoints against the matrices written out (exact on small integers, whose
/// sums and products by the coefficients 1, 2, 4, 5 and 8 float holds exactly), and the forward, dx and dW it runs, alone and
/// beside F(2x2, 3x3)'s weight gradient, against the direct-loop <see cref="Conv2dReference"/>, for any thread count and
/// block size.
/// </summary>
public class Winograd4x4Tests
{
    internal static readonly double[,] BT =
    {
        { 4, 0, -5, 0, 1, 0 }, { 0, -4, -4, 1, 1, 0 }, { 0, 4, -4, -1, 1, 0 },
        { 0, -2, -1, 2, 1, 0 }, { 0, 2, -1, -2, 1, 0 }, { 0, 4, 0, -5, 0, 1 },
    };

    private static readonly double[,] AT = { { 1, 1, 1, 1, 1, 0 }, { 0, 1, -1, 2, -2, 0 }, { 0, 1, 1, 4, 4, 0 }, { 0, 1, -1, 8, -8, 1 } };

    private static readonly double[,] G =
    {
        { 0.25, 0, 0 }, { -1.0 / 6, -1.0 / 6, -1.0 / 6 }, { -1.0 / 6, 1.0 / 6, -1.0 / 6 },
        { 1.0 / 24, 1.0 / 12, 1.0 / 6 }, { 1.0 / 24, -1.0 / 12, 1.0 / 6 }, { 0, 0, 1 },
    };

    private static Conv2dGeometry Same3x3(int n, int c, int h, int w, int oc, int groups = 1) => new(n, c, h, w, oc, 3, 3, PH: 1, PW: 1, G: groups);

    public static TheoryData<int, int> Planes() => new()
    {
        { 1, 1 }, { 3, 5 }, { 4, 4 }, { 7, 7 }, { 5, 9 }, { 9, 12 }, { 13, 13 }, { 14, 14 }, { 16, 16 }, { 6, 17 },
        { 11, 20 }, { 28, 28 }, { 9, 31 }, { 32, 32 }, { 2, 30 }, { 5, 33 }, { 9, 40 }, { 13, 57 }, { 6, 64 },
    };

    [Theory]
    [MemberData(nameof(Planes))]
    public unsafe void InputTransformIsBTransposedDB(int h, int w)
    {
        // The plane sits at the end of its buffer, so the last rows' loads must stop there; V is filled with a sentinel.
        if (!Avx512F.IsSupported) return;
        var x = SmallIntegers(h * w, h * 100 + w);
        int th = (h + 3) / 4, tw = (w + 3) / 4, tiles = th * tw, stride = tiles + 32;
        var v = Enumerable.Repeat(7f, 36 * stride).ToArray();
        fixed (float* px = x, pv = v) WinogradPatches.TransformInput(px, h, w, pv, stride, 4);
        int k = WinogradPatches.RowsPerVector(w, 4), written = ((th - 1) / k * k) * tw + 16;   // the last vector's first tile, plus 16
        for (int t = 0; t < tiles; t++)
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 6; j++)
                {
                    double sum = 0;
                    for (int a = 0; a < 6; a++)
                        for (int b = 0; b < 6; b++)
                        {
                            int r = 4 * (t / tw) - 1 + a, c = 4 * (t % tw) - 1 + b;
                            double d = r >= 0 && r < h && c >= 0 && c < w ? x[r * w + c] : 0;
                            sum += BT[i, a] * d * BT[j, b];
                        }
                    float got = v[(6 * i + j) * stride + t];
                    Assert.True(sum == got, $"{h}x{w} tile {t} position {6 * i + j}: {got}, not {sum}");
                }
        for (int xi = 0; xi < 36; xi++)
        {
            for (int t = tiles; t < written; t++) Assert.True(v[xi * stride + t] == 0f, $"{h}x{w}: lane past the tiles at {t} not zero");
            for (int t = written; t < stride; t++) Assert.Equal(7f, v[xi * stride + t]);
        }
    }

    [Theory]
    [MemberData(nameof(Planes))]
    public unsafe void OutputTransformIsATransposedMAWithItsEpilogue(int h, int w)
    {
        if (!Avx512F.IsSupported) return;
        int th = (h + 3) / 4, tw = (w + 3) / 4, tiles = th * tw, stride = tiles + 32;
        var m = SmallIntegers(36 * stride, h * 7 + w);
        float bias = 1.5f;
        foreach (var (useBias, relu, accumulate) in new[] { (false, false, false), (true, true, false), (false, false, true), (true, false, false) })
            foreach (var (first, end) in new[] { (0, -1), (th / 2, th), (0, (th + 1) / 2) })
            {
                var y = Enumerable.Repeat(3f, h * w + 16).ToArray();
                fixed (float* pm = m, py = y)
                    Winograd4x4.TransformOutput(pm, stride, h, w, useBias ? &bias : null, relu, accumulate, py, first, end);
                for (int r = 0; r < h; r++)
                    for (int c = 0; c < w; c++)
                    {
                        int ty = r / 4, t = ty * tw + c / 4;
                        bool inside = ty >= first && ty < (end < 0 ? th : end);
                        double sum = 0;
                        for (int i = 0; i < 6; i++)
                            for (int j = 0; j < 6; j++) sum += AT[r % 4, i] * m[(6 * i + j) * stride + t] * AT[c % 4, j];
                        float expected = !inside ? 3f : accumulate ? 3f + (float)sum : (float)sum + (useBias ? bias : 0f);
                        if (inside && relu) expected = Math.Max(expected, 0f);
                        Assert.True(expected == y[r * w + c], $"{h}x{w} ({r}, {c}) rows {first}..{end}: {y[r * w + c]}, not {expected}");
                    }
                Assert.All(y.Skip(h * w), value => Assert.Equal(3f, value));   // nothing past the plane
            }
    }

    [Theory]
    [MemberData(nameof(Planes))]
    public unsafe void OutputGradientTransformIsADyATransposed(int h, int w)
    {
        if (!Avx512F.IsSupported) return;
        var dy = SmallIntegers(h * w, h * 31 + w);
        int th = (h + 3) / 4, tw = (w + 3) / 4, tiles = th * tw, stride = tiles + 32;
        var dm = Enumerable.Repeat(7f, 36 * stride).ToArray();
        fixed (float* pdy = dy, pdm = dm) Winograd4x4.TransformOutputGradient(pdy, h, w, pdm, stride);
        int k = WinogradPatches.RowsPerVector(w, 4), written = ((th - 1) / k * k) * tw + 16;
        for (int t = 0; t < tiles; t++)
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 6; j++)
                {
                    double sum = 0;
                    for (int a = 0; a < 4; a++)
                        for (int b = 0; b < 4; b++)
                        {
                            int r = 4 * (t / tw) + a, c = 4 * (t % tw) + b;
                            sum += AT[a, i] * (r < h && c < w ? dy[r * w + c] : 0) * AT[b, j];
                        }
                    float got = dm[(6 * i + j) * stride + t];
                    Assert.True(sum == got, $"{h}x{w} tile {t} position {6 * i + j}: {got}, not {sum}");
                }
        for (int xi = 0; xi < 36; xi++)
        {
            for (int t = tiles; t < written; t++) Assert.True(dm[xi * stride + t] == 0f, $"{h}x{w}: lane past the tiles at {t} not zero");
            for (int t = written; t < stride; t++) Assert.Equal(7f, dm[xi * stride + t]);
        }
    }

    [Theory]
    [InlineData(7, 7, 9)]
    [InlineData(8, 8, 4)]
    [InlineData(5, 6, 3)]
    [InlineData(8, 5, 13)]
    public unsafe void TinyPlanesFourAtATimeKeepTheBitsOfOneAtATime(int h, int w, int count)
    {
        if (!Avx512F.IsSupported) return;
        int plane = h * w, stride = 4 * count + 32;
        var x = Normal(h * 10 + w, count * plane);
        float[] packed = Enumerable.Repeat(7f, 36 * stride).ToArray(), single = (float[])packed.Clone();
        fixed (float* px = x, pp = packed, ps = single)
        {
            Winograd4x4.TransformTinyInputs(px, count, h, w, pp, stride);
            for (int p = 0; p < count; p++) WinogradPatches.TransformInput(px + p * plane, h, w, ps + 4 * p, stride, 4);
        }
        for (int xi = 0; xi < 36; xi++)
            for (int t = 0; t < 4 * count; t++) Assert.Equal(single[xi * stride + t], packed[xi * stride + t]);
        var m = Normal(3, 36 * stride);
        float bias = 0.25f;
        foreach (var (useBias, relu, accumulate) in new[] { (true, true, false), (false, false, true) })
        {
            float[] yPacked = Normal(5, count * plane + 16), ySingle = (float[])yPacked.Clone();
            fixed (float* pm = m, pp = yPacked, ps = ySingle)
            {
                Winograd4x4.TransformTinyOutputs(pm, stride, h, w, count, useBias ? &bias : null, relu, accumulate, pp, plane);
                for (int p = 0; p < count; p++)
                    Winograd4x4.TransformOutput(pm + 4 * p, stride, h, w, useBias ? &bias : null, relu, accumulate, ps + p * plane);
            }
            Assert.Equal(ySingle, yPacked);
        }
    }

    [Fact]
    public void KernelGradientIsGTransposedTimesDuTimesG()
    {
        var du = new float[36];
        new Generator(11).FillNormal(du, 0, 1);
        var dk = Enumerable.Repeat(0.5f, 9).ToArray();
        Winograd4x4.KernelGradient(du, dk);
        for (int a = 0; a < 3; a++)
            for (int c = 0; c < 3; c++)
            {
                double sum = 0;
                for (int i = 0; i < 6; i++)
                    for (int j = 0; j < 6; j++) sum += G[i, a] * du[6 * i + j] * G[j, c];
                Assert.True(Math.Abs(0.5 + sum - dk[3 * a + c]) <= 1e-6, $"({a}, {c}): {dk[3 * a + c]}, not {0.5 + sum}");
            }
    }

    [Fact]
    public unsafe void KernelTransformIsGTimesKTimesGTransposed()
    {
        var k = new float[9];
        new Generator(5).FillNormal(k, 0, 1);
        foreach (bool turned in new[] { false, true })
        {
            var u = new float[36 * 3];
            fixed (float* pk = k, pu = u) Winograd4x4.TransformKernel(pk, turned, pu, 3);
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 6; j++)
                {
                    double sum = 0;
                    for (int a = 0; a < 3; a++)
                        for (int c = 0; c < 3; c++)
                            sum += G[i, a] * (turned ? k[(2 - a) * 3 + 2 - c] : k[a * 3 + c]) * G[j, c];
                    // Computed in double and rounded once: within an ulp of float.
                    float got = u[(6 * i + j) * 3];
                    Assert.True(Math.Abs(sum - got) <= 1.2e-7 * Math.Abs(sum), $"position {6 * i + j}: {got}, not {sum}");
                }
        }
    }

    [Fact]
    public unsafe void Eight_kernels_in_lanes_have_the_bits_of_one_at_a_time()
    {
        if (!Winograd4x4.TransformsKernelsInLanes) return;   // no AVX-512: WinogradWeights takes the scalar path
        KernelTransformLanes.AssertSameBits(36, &Winograd4x4.TransformKernels, &Winograd4x4.TransformKernel);
    }

    public static TheoryData<int, int, int, int, int, int, int> Shapes() => new()
    {
        // n, c, h, w, oc, groups, block columns (0: the default; small ones make full and short blocks of a few images)
        { 2, 32, 14, 14, 64, 1, 0 },
        { 5, 16, 14, 14, 24, 1, 40 },     // blocks of 2 images: two full, one short
        { 3, 16, 7, 9, 16, 1, 0 },        // odd sizes: the last tile row and column mostly outside
        { 2, 16, 5, 32, 16, 1, 0 },       // 32 wide: no float of a row is zero, the columns outside are cleared
        { 2, 16, 16, 16, 16, 1, 0 },      // 16 wide: likewise, rows in one vector
        { 3, 32, 6, 3, 32, 2, 4 },        // groups; blocks of 1 image
        { 2, 16, 1, 1, 16, 1, 0 },        // one pixel: only the kernel's centre sees the image
        { 3, 20, 13, 13, 20, 1, 0 },      // four tile rows a vector, the last vector one tile row
        { 2, 16, 30, 31, 17, 1, 0 },      // two tile rows a vector; 17 outputs: a block of 8 rows of 1
        { 2, 18, 10, 10, 19, 1, 0 },
        { 4, 16, 28, 28, 16, 1, 0 },
        { 40, 16, 28, 28, 16, 1, 200 },   // blocks of 4 images for these tiles, of 1 for F(2x2, 3x3)'s weight gradient beside them
        { 2, 16, 9, 56, 16, 1, 0 },       // one tile row a vector, its input rows in four vectors
        { 3, 16, 6, 37, 24, 1, 60 },      // 10 tiles a row, blocks of 2 images
        { 2, 16, 5, 64, 16, 1, 0 },       // 64 wide: the columns outside are cleared
        { 9, 16, 7, 7, 24, 1, 0 },        // tiny planes: 4 images a vector, the last vector one image
        { 6, 32, 8, 8, 16, 2, 8 },        // 8 wide: the columns outside are cleared; groups; blocks of 2 images
        { 7, 16, 5, 6, 16, 1, 0 },        // the smallest tiny plane
        { 5, 16, 6, 8, 24, 1, 0 },        // a tiny plane the planner takes: a side of 8, a quarter of the tiles outside
        { 3, 48, 7, 7, 64, 1, 0 },        // tiny planes, more than 16 inputs: the weight gradient's products turned round
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void ForwardAndBackwardMatchTheReference(int n, int c, int h, int w, int oc, int groups, int blockColumns)
    {
        if (!Avx512F.IsSupported) return;
        var g = Same3x3(n, c, h, w, oc, groups);
        Assert.True(ConvPlanner.CanRun(ConvAlgorithm.Winograd4x4, g));
        var (x, wt, b, dy) = Inputs(g, n * 131 + c);
        var y = new float[dy.Length];
        var yRef = new float[dy.Length];
        Forward(g, x, wt, b, y, blockColumns, ConvAlgorithm.Winograd4x4);
        Conv2dReference.Forward(g, x, wt, b, true, yRef);
        AssertClose(yRef, y, $"forward {g}");

        // Pinned (dx and dW from one block) and planned (on small batches beside F(2x2, 3x3)'s weight gradient, whose blocks
        // take the same slots): "+=" from a nonzero start, and overwriting a NaN-filled dx.
        foreach (var algorithm in new[] { ConvAlgorithm.Winograd4x4, ConvAlgorithm.Auto })
        {
            float[] dx = Filled(x.Length, 0.5f), dw = Filled(wt.Length, 0.5f), db = Filled(b.Length, 0.5f);
            float[] dxRef = Filled(x.Length, 0.5f), dwRef = Filled(wt.Length, 0.5f), dbRef = Filled(b.Length, 0.5f);
            Backward(g, x, wt, dy, dx, dw, db, blockColumns, algorithm);
            Conv2dReference.Backward(g, x, wt, dy, dxRef, dwRef, dbRef);
            AssertClose(dxRef, dx, $"dx {algorithm} {g}");
            AssertClose(dwRef, dw, $"dw {algorithm} {g}");
            AssertClose(dbRef, db, $"db {algorithm} {g}");
            var dxOver = Filled(x.Length, float.NaN);
            Backward(g, x, wt, dy, dxOver, [], [], blockColumns, algorithm, overwriteDx: true);
            AssertClose(dxRef.Select(v => v - 0.5f).ToArray(), dxOver, $"overwritten dx {algorithm} {g}");
        }
    }

    [Fact]
    public void ThePlannerPairsItsInputGradientWithTheNarrowTilesWeightGradient()
    {
        if (!Avx512F.IsSupported) return;
        Assert.Equal(new ConvPlan(ConvAlgorithm.Winograd4x4, ConvAlgorithm.Winograd4x4, ConvAlgorithm.Winograd),
            ConvPlanner.Plan(Same3x3(5, 16, 14, 14, 24)));
    }

    [Theory]
    [InlineData(16, 13, 96)]   // 13 tile rows of 7 in two passes: 16 x 36 x 96 floats of V, 221 KB
    [InlineData(64, 6, 48)]    // 6 rows in one pass: two would read 885 KB of V
    [InlineData(0, 6, 48)]     // depth not known
    public void A_chunk_of_few_channels_takes_two_passes_for_fuller_lanes(int channels, int rows, int width)
    {
        var block = new WinogradBlock(28, 28, tileSide: 4, kernelSide: 3, channels: channels);
        Assert.Equal((rows, width), (block.ChunkRows, block.ChunkWidth));
    }

    [Fact]
    public void ResultsDoNotDependOnTheThreadCountOrTheBlockSize() =>
        SameBitsForAnyThreadCountOrBlock(Same3x3(40, 16, 9, 11, 32), ConvAlgorithm.Winograd4x4, [0, 20, 9]);

    // 24 inputs: the weight gradient's products with V turned round (WinogradWeightGradient.AddDots), its last block 8 wide.
    [Fact]
    public void ResultsDoNotDependOnTheThreadCountOrTheBlockSizeWithMoreThan16Inputs() =>
        SameBitsForAnyThreadCountOrBlock(Same3x3(40, 24, 9, 11, 32), ConvAlgorithm.Winograd4x4, [0, 20, 9]);

    /// <summary>
    /// y (with a ReLU) and dx of <paramref name="g"/> by <paramref name="algorithm"/>, the same bits for 1 and 2 threads and for
    /// blocks cut at each of <paramref name="blockColumns"/> (40 images: 16 chunks of 2-3 images at both thread counts); dW the
    /// same bits for 1 and 2 threads (its blocks' sums are added to dU block by block, so the block size orders them).
    /// </summary>
    internal static void SameBitsForAnyThreadCountOrBlock(Conv2dGeometry g, ConvAlgorithm algorithm, int[] blockColumns)
    {
        if (!Hardware.Runs(algorithm, g)) return;
        var (x, wt, b, dy) = Inputs(g, 7);
        float[]? first = null;
        foreach (int columns in blockColumns)
        {
            float[]? firstDw = null;
            foreach (int threads in new[] { 1, 2 })
            {
                float[] y = new float[dy.Length], dx = new float[x.Length], dw = new float[wt.Length];
                using (ThreadCount.Use(threads))
                {
                    Forward(g, x, wt, b, y, columns, algorithm, relu: true);
                    Backward(g, x, wt, dy, dx, dw, [], columns, algorithm, overwriteDx: true);
                }
                float[] all = [.. y, .. dx];
                first ??= all;
                firstDw ??= dw;
                Assert.Equal(first, all);
                Assert.Equal(firstDw, dw);
            }
        }
    }

    [Fact]
    public void ThePlannerTakesItForBatchesOfPlanesNineToSixtyFourWide()
    {
        if (!Avx512F.IsSupported) return;
        Assert.Equal(ConvAlgorithm.Winograd4x4, ConvPlanner.Plan(Same3x3(128, 16, 28, 28, 16)).Forward);
        Assert.Equal(ConvAlgorithm.Winograd4x4, ConvPlanner.Plan(Same3x3(128, 32, 32, 32, 32)).InputGradient);
        Assert.Equal(ConvAlgorithm.Winograd4x4, ConvPlanner.Plan(Same3x3(2, 64, 10, 9, 64)).Forward);
        Assert.Equal(ConvAlgorithm.Winograd4x4, ConvPlanner.Plan(Same3x3(128, 64, 8, 8, 64)).Forward);  // 4 images a vector
        Assert.Equal(ConvAlgorithm.Winograd4x4, ConvPlanner.Plan(Same3x3(128, 16, 7, 7, 16)).InputGradient);
        Assert.Equal(ConvAlgorithm.Winograd, ConvPlanner.Plan(Same3x3(128, 64, 6, 6, 64)).Forward);     // most of a tile outside
        Assert.Equal(ConvAlgorithm.Winograd4x4, ConvPlanner.Plan(Same3x3(128, 64, 7, 7, 64)).WeightGradient);   // 64 channels
        Assert.Equal(ConvAlgorithm.Winograd, ConvPlanner.Plan(Same3x3(1, 32, 28, 28, 32)).Forward);     // one image
        Assert.Equal(ConvAlgorithm.Winograd4x4, ConvPlanner.Plan(Same3x3(8, 32, 56, 56, 32)).Forward);
        Assert.Equal(ConvAlgorithm.Winograd, ConvPlanner.Plan(Same3x3(8, 32, 72, 72, 32)).Forward);     // wider than 64
        Assert.False(ConvPlanner.CanRun(ConvAlgorithm.Winograd4x4, Same3x3(8, 32, 40, 65, 32)));
        var e = Assert.Throws<ArgumentException>(() => ConvPlanner.Plan(Same3x3(8, 32, 40, 65, 32), ConvAlgorithm.Winograd4x4));
        Assert.Contains("at most 64 wide", e.Message);
        // Pinned, it runs all three passes.
        var wide = ConvAlgorithm.Winograd4x4;
        Assert.Equal(new ConvPlan(wide, wide, wide), ConvPlanner.Plan(Same3x3(2, 3, 5, 5, 4), wide));
        // Its weight gradient: up to 16 inputs on blocks of at least 128 tiles (a sixteenth of the batch), more on blocks of
        // 32, from 75 % inside the plane.
        Assert.Equal(wide, ConvPlanner.Plan(Same3x3(128, 32, 28, 28, 32)).WeightGradient);
        Assert.Equal(wide, ConvPlanner.Plan(Same3x3(128, 64, 16, 16, 64)).WeightGradient);
        Assert.Equal(wide, ConvPlanner.Plan(Same3x3(128, 16, 14, 14, 16)).WeightGradient);      // 16 channels: its transforms pay
        Assert.Equal(wide, ConvPlanner.Plan(Same3x3(128, 32, 14, 14, 32)).WeightGradient);      // 23 % outside, 32 inputs
        Assert.Equal(wide, ConvPlanner.Plan(Same3x3(128, 16, 14, 14, 32)).WeightGradient);      // 16 inputs, 32 outputs
        Assert.NotEqual(wide, ConvPlanner.Plan(Same3x3(128, 16, 10, 10, 32)).WeightGradient);   // 31 % outside
        Assert.Equal(wide, ConvPlanner.Plan(Same3x3(32, 32, 28, 28, 32)).WeightGradient);      // blocks of 98 tiles, 32 inputs
        Assert.Equal(ConvAlgorithm.Winograd, ConvPlanner.Plan(Same3x3(32, 16, 28, 28, 32)).WeightGradient);    // 16 inputs
        Assert.Equal(ConvAlgorithm.Winograd, ConvPlanner.Plan(Same3x3(128, 64, 10, 10, 64)).WeightGradient);   // 69 % inside
        Assert.Equal(wide, ConvPlanner.Plan(Same3x3(32, 32, 28, 28, 32)).InputGradient);
    }

    internal static void Forward(in Conv2dGeometry g, float[] x, float[] w, float[] b, float[] y, int blockColumns, ConvAlgorithm algorithm,
        bool relu = false) =>
        Conv2dKernel.ForwardCached(g, x, w, b, true, y, relu, default, default, weightsKey: null, algorithm, winogradBlockColumns: blockColumns);

    internal static unsafe void Backward(in Conv2dGeometry g, float[] x, float[] w, float[] dy, float[] dx, float[] dw, float[] db,
        int blockColumns, ConvAlgorithm algorithm, bool overwriteDx = false)
    {
        fixed (float* pdy = dy)
            Conv2dKernel.BackwardCore(g, x, w, new PlainGradient(g, pdy), dx, dw, db, overwriteDx, algorithm, blockColumns);
    }

    // Multiples of ¼ in [−4, 4]: every sum and product of the transforms is exact in float.
    internal static float[] SmallIntegers(int length, long seed)
    {
        var r = new Generator(seed);
        var a = new float[length];
        for (int i = 0; i < length; i++) a[i] = r.NextInt(9) - 4 + 0.25f * r.NextInt(4);
        return a;
    }

    internal static (float[] x, float[] w, float[] b, float[] dy) Inputs(Conv2dGeometry g, long seed)
    {
        var rnd = new Generator(seed);
        float[] x = new float[g.N * g.C * g.H * g.W], w = new float[g.OC * g.ColRows], b = new float[g.OC];
        var dy = new float[g.N * g.OC * g.ColCols];
        rnd.FillNormal(x, 0, 1); rnd.FillNormal(w, 0, 1); rnd.FillNormal(b, 0, 1); rnd.FillNormal(dy, 0, 1);
        return (x, w, b, dy);
    }

    private static float[] Normal(long seed, int length)
    {
        var a = new float[length];
        new Generator(seed).FillNormal(a, 0, 1);
        return a;
    }

    internal static float[] Filled(int length, float value) => Enumerable.Repeat(value, length).ToArray();

    // F(4x4, 3x3)'s tolerance: within 2e-5 of the largest value (its transforms scale the partial products before the sum).
    internal static void AssertClose(float[] expected, float[] actual, string what) =>
        Conv2dKernelTests.AssertClose(expected, actual, what, ConvAlgorithm.Winograd4x4);
}
