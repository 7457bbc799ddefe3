using System.Runtime.Intrinsics.X86;
using CnnLab.Kernels;
using CnnLab.Nn;
using CnnLab.Tensors;
using Xunit;
using static CnnLab.Tests.Winograd4x4Tests;

namespace CnnLab.Tests;

/// <summary>
/// Winograd F(2x2, 5x5): its transforms and their adjoints against the matrices written out (exact on small integers), and its
/// forward, dx and dW against the direct-loop <see cref="Conv2dReference"/>, for any thread count and block size, and by
/// finite differences through a pinned layer.
/// </summary>
public class Winograd5x5Tests
{
    [Fact]
    public unsafe void Eight_kernels_in_lanes_have_the_bits_of_one_at_a_time()
    {
        if (!Winograd5x5.TransformsKernelsInLanes) return;   // no AVX-512: the scalar paths run
        KernelTransformLanes.AssertSameBits(36, &Winograd5x5.TransformKernels, &Winograd5x5.TransformKernel, taps: 25);
    }

    [Fact]
    public unsafe void Eight_kernel_gradients_in_lanes_have_the_bits_of_one_at_a_time()
    {
        if (!Winograd5x5.TransformsKernelsInLanes) return;
        KernelTransformLanes.AssertGradientSameBits(36, 25, &Winograd5x5.KernelGradients, &Winograd5x5.KernelGradient);
    }

    private static readonly double[,] AT = { { 1, 1, 1, 1, 1, 0 }, { 0, 1, -1, 2, -2, 1 } };

    private static readonly double[,] G =
    {
        { 0.25, 0, 0, 0, 0 }, { -1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6 }, { -1.0 / 6, 1.0 / 6, -1.0 / 6, 1.0 / 6, -1.0 / 6 },
        { 1.0 / 24, 2.0 / 24, 4.0 / 24, 8.0 / 24, 16.0 / 24 }, { 1.0 / 24, -2.0 / 24, 4.0 / 24, -8.0 / 24, 16.0 / 24 }, { 0, 0, 0, 0, 1 },
    };

    private static Conv2dGeometry Same5x5(int n, int c, int h, int w, int oc, int groups = 1) => new(n, c, h, w, oc, 5, 5, PH: 2, PW: 2, G: groups);

    public static TheoryData<int, int> Planes() =>
        new() { { 1, 1 }, { 3, 5 }, { 7, 7 }, { 8, 8 }, { 5, 16 }, { 16, 16 }, { 6, 17 }, { 9, 31 }, { 32, 32 } };

    [Theory]
    [MemberData(nameof(Planes))]
    public unsafe void InputTransformIsBTransposedDBOnPatchesTwoApart(int h, int w)
    {
        if (!Avx512F.IsSupported) return;
        var x = SmallIntegers(h * w, h * 100 + w);
        int th = (h + 1) / 2, tw = (w + 1) / 2, tiles = th * tw, stride = tiles + 32;
        var v = Enumerable.Repeat(7f, 36 * stride).ToArray();
        fixed (float* px = x, pv = v) WinogradPatches.TransformInput(px, h, w, pv, stride, 2);
        for (int t = 0; t < tiles; t++)
            for (int xi = 0; xi < 36; xi++)
            {
                double sum = 0;
                for (int a = 0; a < 6; a++)
                    for (int b = 0; b < 6; b++)
                    {
                        int r = 2 * (t / tw) - 2 + a, c = 2 * (t % tw) - 2 + b;
                        sum += BT[xi / 6, a] * (r >= 0 && r < h && c >= 0 && c < w ? x[r * w + c] : 0) * BT[xi % 6, b];
                    }
                float got = v[xi * stride + t];
                Assert.True(sum == got, $"{h}x{w} tile {t} position {xi}: {got}, not {sum}");
            }
    }

    [Theory]
    [MemberData(nameof(Planes))]
    public unsafe void OutputTransformAndItsAdjointAreATransposedMAAndADyATransposed(int h, int w)
    {
        if (!Avx512F.IsSupported) return;
        int th = (h + 1) / 2, tw = (w + 1) / 2, tiles = th * tw, stride = tiles + 32;
        var m = SmallIntegers(36 * stride, h * 7 + w);
        float bias = -0.5f;
        foreach (var (useBias, relu, accumulate, first, end) in new[] { (false, false, false, 0, -1), (true, true, false, th / 2, th),
            (false, false, true, 0, (th + 1) / 2) })
        {
            var y = Enumerable.Repeat(3f, h * w + 16).ToArray();
            fixed (float* pm = m, py = y) Winograd5x5.TransformOutput(pm, stride, h, w, useBias ? &bias : null, relu, accumulate, py, first, end);
            for (int r = 0; r < h; r++)
                for (int c = 0; c < w; c++)
                {
                    int t = r / 2 * tw + c / 2;
                    bool inside = r / 2 >= first && r / 2 < (end < 0 ? th : end);
                    double sum = 0;
                    for (int xi = 0; xi < 36; xi++) sum += AT[r % 2, xi / 6] * m[xi * stride + t] * AT[c % 2, xi % 6];
                    float expected = !inside ? 3f : accumulate ? 3f + (float)sum : (float)sum + (useBias ? bias : 0f);
                    if (inside && relu) expected = Math.Max(expected, 0f);
                    Assert.True(expected == y[r * w + c], $"{h}x{w} ({r}, {c}): {y[r * w + c]}, not {expected}");
                }
            Assert.All(y.Skip(h * w), value => Assert.Equal(3f, value));
        }
        var dy = SmallIntegers(h * w, h * 31 + w);
        var dm = Enumerable.Repeat(7f, 36 * stride).ToArray();
        fixed (float* pdy = dy, pdm = dm) Winograd5x5.TransformOutputGradient(pdy, h, w, pdm, stride);
        for (int t = 0; t < tiles; t++)
            for (int xi = 0; xi < 36; xi++)
            {
                double sum = 0;
                for (int a = 0; a < 2; a++)
                    for (int b = 0; b < 2; b++)
                    {
                        int r = 2 * (t / tw) + a, c = 2 * (t % tw) + b;
                        sum += AT[a, xi / 6] * (r < h && c < w ? dy[r * w + c] : 0) * AT[b, xi % 6];
                    }
                Assert.True(sum == dm[xi * stride + t], $"{h}x{w} dM tile {t} position {xi}: {dm[xi * stride + t]}, not {sum}");
            }
    }

    [Fact]
    public unsafe void KernelTransformAndItsAdjointAreGKGTransposedAndGTransposedDuG()
    {
        var gen = new Generator(3);
        var k = new float[25];
        var du = new float[36];
        gen.FillNormal(k, 0, 1);
        gen.FillNormal(du, 0, 1);
        foreach (bool turned in new[] { false, true })
        {
            var u = new float[36 * 2];
            fixed (float* pk = k, pu = u) Winograd5x5.TransformKernel(pk, turned, pu, 2);
            for (int xi = 0; xi < 36; xi++)
            {
                double sum = 0;
                for (int a = 0; a < 5; a++)
                    for (int c = 0; c < 5; c++) sum += G[xi / 6, a] * (turned ? k[24 - (5 * a + c)] : k[5 * a + c]) * G[xi % 6, c];
                Assert.True(Math.Abs(sum - u[2 * xi]) <= 2.4e-7 * Math.Abs(sum) + 1e-12, $"position {xi}: {u[2 * xi]}, not {sum}");
            }
        }
        var dk = Enumerable.Repeat(0.5f, 25).ToArray();
        Winograd5x5.KernelGradient(du, dk);
        for (int a = 0; a < 5; a++)
            for (int c = 0; c < 5; c++)
            {
                double sum = 0.5;
                for (int xi = 0; xi < 36; xi++) sum += G[xi / 6, a] * du[xi] * G[xi % 6, c];
                Assert.True(Math.Abs(sum - dk[5 * a + c]) <= 1e-6, $"({a}, {c}): {dk[5 * a + c]}, not {sum}");
            }
    }

    public static TheoryData<int, int, int, int, int, int, int> Shapes() => new()
    {
        // n, c, h, w, oc, groups, block columns (0: the default)
        { 2, 32, 16, 16, 64, 1, 0 },
        { 5, 16, 14, 14, 24, 1, 100 },    // blocks of 2 images: two full, one short
        { 3, 3, 7, 9, 5, 1, 0 },          // 3 channels, 5 outputs, odd sizes
        { 2, 16, 5, 32, 16, 1, 0 },       // 32 wide: the columns outside are cleared
        { 3, 32, 6, 3, 32, 2, 8 },        // groups; blocks of 1 image
        { 2, 16, 1, 1, 16, 1, 0 },        // one pixel: only the kernel's centre sees the image
        { 2, 18, 10, 21, 19, 1, 0 },      // 11 tiles a row: one tile row a vector
        { 40, 16, 8, 8, 16, 1, 40 },      // chunks of 2-3 images, blocks of 2
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void ForwardAndBackwardMatchTheReference(int n, int c, int h, int w, int oc, int groups, int blockColumns)
    {
        if (!Avx512F.IsSupported) return;
        var g = Same5x5(n, c, h, w, oc, groups);
        Assert.True(ConvPlanner.CanRun(ConvAlgorithm.Winograd5x5, g));
        var (x, wt, b, dy) = Inputs(g, n * 17 + c);
        var y = new float[dy.Length];
        var yRef = new float[dy.Length];
        Forward(g, x, wt, b, y, blockColumns, ConvAlgorithm.Winograd5x5);
        Conv2dReference.Forward(g, x, wt, b, true, yRef);
        AssertClose(yRef, y, $"forward {g}");
        float[] dx = Filled(x.Length, 0.5f), dw = Filled(wt.Length, 0.5f), db = Filled(b.Length, 0.5f);
        float[] dxRef = Filled(x.Length, 0.5f), dwRef = Filled(wt.Length, 0.5f), dbRef = Filled(b.Length, 0.5f);
        Backward(g, x, wt, dy, dx, dw, db, blockColumns, ConvAlgorithm.Winograd5x5);
        Conv2dReference.Backward(g, x, wt, dy, dxRef, dwRef, dbRef);
        AssertClose(dxRef, dx, $"dx {g}");
        AssertClose(dwRef, dw, $"dw {g}");
        AssertClose(dbRef, db, $"db {g}");
        var dxOver = Filled(x.Length, float.NaN);
        Backward(g, x, wt, dy, dxOver, [], [], blockColumns, ConvAlgorithm.Winograd5x5, overwriteDx: true);
        AssertClose(dxRef.Select(v => v - 0.5f).ToArray(), dxOver, $"overwritten dx {g}");
    }

    [Fact]
    public void ResultsDoNotDependOnTheThreadCountOrTheBlockSize() =>
        SameBitsForAnyThreadCountOrBlock(Same5x5(40, 16, 9, 11, 32), ConvAlgorithm.Winograd5x5, [0, 60, 30]);

    [Fact]
    public void ThePlannerTakesItForBatchesWithEnoughChannels()
    {
        if (!Avx512F.IsSupported) return;
        var five = ConvAlgorithm.Winograd5x5;
        Assert.Equal(new ConvPlan(five, five, five), ConvPlanner.Plan(Same5x5(128, 32, 16, 16, 64)));
        Assert.Equal(new ConvPlan(five, five, five), ConvPlanner.Plan(Same5x5(64, 16, 28, 28, 16)));   // from 8 channels
        Assert.Equal(new ConvPlan(five, five, five), ConvPlanner.Plan(Same5x5(128, 8, 16, 16, 16)));
        Assert.NotEqual(five, ConvPlanner.Plan(Same5x5(128, 4, 28, 28, 16)).Forward);       // not with 4 inputs
        Assert.NotEqual(five, ConvPlanner.Plan(Same5x5(64, 64, 8, 8, 64)).WeightGradient);  // blocks of 64 tiles
        Assert.NotEqual(five, ConvPlanner.Plan(Same5x5(1, 32, 16, 16, 64)).Forward);        // one image
        Assert.False(ConvPlanner.CanRun(five, Same5x5(8, 32, 16, 33, 32)));
        Assert.False(ConvPlanner.CanRun(five, new Conv2dGeometry(8, 32, 16, 16, 32, 5, 5, PH: 1, PW: 1)));
        var e = Assert.Throws<ArgumentException>(() => ConvPlanner.Plan(new Conv2dGeometry(8, 32, 16, 16, 32, 5, 5, 2, 2, 2, 2), five));
        Assert.Contains("a 5x5 kernel, stride 1, padding 2", e.Message);
    }

    [Fact]
    public void A_pinned_layer_passes_the_finite_difference_check()
    {
        if (!Avx512F.IsSupported) return;
        var gen = new Generator(8);
        var conv = new Conv2d(3, 4, 5, padding: 2, generator: gen) { Algorithm = ConvAlgorithm.Winograd5x5 };
        var x = Tensor.Randn(gen, 2, 3, 5, 6);
        GradCheck.Check(t => Functional.Conv2d(t[0], t[1], t[2], padding: 2, algorithm: ConvAlgorithm.Winograd5x5),
            [x, conv.Weight.Detach().Clone(), conv.Bias!.Detach().Clone()], what: "conv2d by Winograd5x5");
    }
}
