using System.Text.Json;
using CnnLab.Kernels;
using CnnLab.Nn;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

public class PoolingTests
{
    private const string Generator_ = "tools/reference/make_conv_fixtures.py";

    private static readonly float[] Grid =
    [
        1, 5, 2, 0,
        3, 4, 8, 1,
        9, 0, 6, 7,
        2, 1, 3, 4,
    ];

    [Fact]
    public void MaxPoolByHand()
    {
        // 2x2 windows, stride 2: max(1,5,3,4) = 5, max(2,0,8,1) = 8, max(9,0,2,1) = 9, max(6,7,3,4) = 7.
        var x = Tensor.FromArray(Grid, 1, 1, 4, 4).RequiresGrad_();
        var y = new MaxPool2d(2).Forward(x);
        Assert.Equal([5f, 8f, 9f, 7f], y.ToArray());
        // The gradient goes only to the winners: 5 at (0,1), 8 at (1,2), 9 at (2,0), 7 at (2,3).
        y.Sum().Backward();
        Assert.Equal([0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0], x.Grad!.ToArray());
    }

    [Fact]
    public void MaxPoolPadsWithNegativeInfinity()
    {
        // All-negative 2x2 input, kernel 2, stride 1, padding 1 → 3x3 windows, each the max of the real taps it covers
        // (a zero pad would win every window instead): [x00, max(x00,x01), x01; max(x00,x10), max(all), max(x01,x11); x10, max(x10,x11), x11].
        var x = Tensor.FromArray([-1, -2, -3, -4], 1, 1, 2, 2);
        Assert.Equal([-1f, -1f, -2f, -1f, -1f, -2f, -3f, -3f, -4f], Functional.MaxPool2d(x, 2, stride: 1, padding: 1).ToArray());
    }

    [Fact]
    public void MaxPoolWithoutGradientGivesTheSameValues()
    {
        // 40 planes of 14x14, 3x3 windows, stride 2, padding 1: two 16-plane blocks and 8 planes after them. With no
        // gradient to take, the op skips the argmax indices; the values must not change.
        var x = Tensor.Randn(new Generator(3), [4, 10, 14, 14]);
        var recorded = Functional.MaxPool2d(x.Clone().RequiresGrad_(), 3, stride: 2, padding: 1);
        Tensor free;
        using (Autograd.NoGrad()) free = Functional.MaxPool2d(x, 3, stride: 2, padding: 1);
        Assert.NotNull(recorded.GradFn);
        Assert.Null(free.GradFn);
        Assert.Equal(recorded.ToArray(), free.ToArray());
        // Whole 2x2 windows and a dilated window take the per-plane paths, which keep their indices in a scratch.
        foreach (var (kernel, dilation) in new[] { (2, 1), (3, 2) })
        {
            var kept = Functional.MaxPool2d(x.Clone().RequiresGrad_(), kernel, dilation: dilation);
            using (Autograd.NoGrad()) Assert.Equal(kept.ToArray(), Functional.MaxPool2d(x, kernel, dilation: dilation).ToArray());
        }
    }

    [Fact]
    public void AvgPoolByHand()
    {
        // (1+5+3+4)/4 = 3.25, (2+0+8+1)/4 = 2.75, (9+0+2+1)/4 = 3, (6+7+3+4)/4 = 5
        var x = Tensor.FromArray(Grid, 1, 1, 4, 4).RequiresGrad_();
        var y = new AvgPool2d(2).Forward(x);
        Assert.Equal([3.25f, 2.75f, 3f, 5f], y.ToArray());
        y.Sum().Backward();
        Assert.All(x.Grad!.ToArray(), v => Assert.Equal(0.25f, v));
        // Padding 1, kernel 3, stride 3 on the 4x4 grid: top-left window covers x[0..1, 0..1] = 1+5+3+4 = 13;
        // with the pad counted it divides by 9 (1.444…), without by 4 (3.25).
        Assert.Equal(13f / 9, Functional.AvgPool2d(x, 3, 3, 1).ToArray()[0], 6);
        Assert.Equal(3.25f, Functional.AvgPool2d(x, 3, 3, 1, countIncludePad: false).ToArray()[0], 6);
    }

    [Fact]
    public void AdaptiveAvgPoolOneIsTheGlobalMean()
    {
        // mean(Grid) = 56 / 16 = 3.5
        var x = Tensor.FromArray(Grid, 1, 1, 4, 4).RequiresGrad_();
        var y = new AdaptiveAvgPool2d(1).Forward(x);
        Assert.Equal([1, 1, 1, 1], y.Shape);
        Assert.Equal(3.5f, y.Item());
        y.Sum().Backward();
        Assert.All(x.Grad!.ToArray(), v => Assert.Equal(1f / 16, v));
    }

    // Global pooling sums each plane in one call, planes in parallel: means of many planes within a float's rounding of the
    // double sums, and the same bits on one thread and two; windows narrower than the plane (2x3) too.
    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 3)]
    public void AdaptiveAvgPoolMeansPlanesTheSameOnAnyThreadCount(int oh, int ow)
    {
        var x = Tensor.Randn(new Generator(7), [64, 24, 10, 9]);
        float[] One() { using (ThreadCount.Use(1)) return new AdaptiveAvgPool2d((oh, ow)).Forward(x).ToArray(); }
        float[] Two() { using (ThreadCount.Use(2)) return new AdaptiveAvgPool2d((oh, ow)).Forward(x).ToArray(); }
        var one = One();
        Assert.Equal(one, Two());
        var data = x.ToArray();
        for (int plane = 0; plane < 64 * 24; plane += 97)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    int h0 = i * 10 / oh, h1 = ((i + 1) * 10 + oh - 1) / oh, w0 = j * 9 / ow, w1 = ((j + 1) * 9 + ow - 1) / ow;
                    double sum = 0;
                    for (int r = h0; r < h1; r++)
                        for (int c = w0; c < w1; c++) sum += data[plane * 90 + r * 9 + c];
                    Assert.Equal(sum / ((h1 - h0) * (w1 - w0)), one[(plane * oh + i) * ow + j], 5e-6);
                }
    }

    [Theory]
    // input, kernel, stride, pad, dilation, ceil → PyTorch's output size
    [InlineData(28, 2, 2, 0, 1, false, 14)]
    [InlineData(7, 2, 2, 0, 1, false, 3)]
    [InlineData(7, 2, 2, 0, 1, true, 4)]
    [InlineData(5, 2, 2, 1, 1, false, 3)]
    [InlineData(5, 2, 2, 1, 1, true, 3)] // ceil gives 4, but the 4th window would start at 6 ≥ 5 + 1: dropped
    [InlineData(6, 3, 2, 1, 1, true, 4)]
    [InlineData(7, 3, 2, 0, 1, true, 3)]
    [InlineData(7, 2, 1, 0, 2, false, 5)]
    public void OutputSizeFollowsPyTorch(int input, int k, int s, int p, int d, bool ceil, int expected) =>
        Assert.Equal(expected, Pool2dGeometry.OutputSize(input, k, p, s, d, ceil));

    [Fact]
    public void DefaultsMatchPyTorch()
    {
        var max = new MaxPool2d(3);
        Assert.Equal(new Pair(3, 3), max.Stride);
        Assert.Equal(new Pair(0, 0), max.Padding);
        Assert.Equal(new Pair(1, 1), max.Dilation);
        Assert.False(max.CeilMode);
        var avg = new AvgPool2d((2, 3));
        Assert.Equal(new Pair(2, 3), avg.Stride);
        Assert.Equal(new Pair(0, 0), avg.Padding);
        Assert.False(avg.CeilMode);
        Assert.True(avg.CountIncludePad);
        Assert.Empty(max.Parameters());
    }

    [Fact]
    public void ExtraReprLikePyTorch()
    {
        Assert.Equal("MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)", new MaxPool2d(2).ToString());
        Assert.Equal("MaxPool2d(kernel_size=(2, 3), stride=(2, 3), padding=0, dilation=1, ceil_mode=True)",
            new MaxPool2d((2, 3), ceilMode: true).ToString());
        Assert.Equal("AvgPool2d(kernel_size=2, stride=2, padding=0)", new AvgPool2d(2).ToString());
        Assert.Equal("AvgPool2d(kernel_size=3, stride=2, padding=1)", new AvgPool2d(3, 2, 1, true, false).ToString());
        Assert.Equal("AdaptiveAvgPool2d(output_size=1)", new AdaptiveAvgPool2d(1).ToString());
        Assert.Equal("AdaptiveAvgPool2d(output_size=(2, 3))", new AdaptiveAvgPool2d((2, 3)).ToString());
    }

    // Distinct values with gaps of 0.1 ≫ the gradient check's step 1e-2, so no perturbation changes a window's max.
    private static Tensor Distinct(Generator g, params int[] shape)
    {
        int n = Shape.Numel(shape);
        var perm = Enumerable.Range(0, n).Select(i => (float)i).ToArray();
        g.Shuffle(perm.AsSpan());
        return Tensor.FromArray(perm.Select(v => (v - n / 2f) * 0.1f).ToArray(), shape);
    }

    [Theory]
    // n, c, h, w, kh, kw, sh, sw, ph, pw, dilation, ceil
    [InlineData(2, 2, 6, 6, 2, 2, 2, 2, 0, 0, 1, false)]
    [InlineData(1, 3, 7, 5, 3, 3, 2, 2, 1, 1, 1, false)]
    [InlineData(1, 2, 7, 5, 2, 2, 2, 2, 0, 0, 1, true)]
    [InlineData(1, 2, 6, 9, 2, 3, 1, 2, 1, 1, 1, true)]
    [InlineData(1, 1, 7, 8, 3, 2, 1, 2, 1, 1, 2, false)]
    public void MaxPoolGradCheck(int n, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, int d, bool ceil)
    {
        var x = Distinct(new Generator(h * 10 + w), n, c, h, w);
        GradCheck.Check(t => Functional.MaxPool2d(t[0], (kh, kw), (sh, sw), (ph, pw), d, ceil), [x], what: "max_pool2d");
    }

    [Theory]
    // n, c, h, w, kh, kw, sh, sw, ph, pw, ceil, countIncludePad
    [InlineData(2, 2, 6, 6, 2, 2, 2, 2, 0, 0, false, true)]
    [InlineData(1, 3, 7, 5, 3, 3, 2, 2, 1, 1, false, true)]
    [InlineData(1, 3, 7, 5, 3, 3, 2, 2, 1, 1, false, false)]
    [InlineData(1, 2, 6, 6, 3, 3, 2, 2, 1, 1, true, true)]
    [InlineData(1, 2, 6, 6, 3, 3, 2, 2, 1, 1, true, false)]
    [InlineData(1, 2, 5, 8, 2, 3, 1, 2, 1, 1, false, true)]
    public void AvgPoolGradCheck(int n, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, bool ceil, bool countIncludePad)
    {
        var x = Tensor.Randn(new Generator(h * 10 + w), n, c, h, w);
        GradCheck.Check(t => Functional.AvgPool2d(t[0], (kh, kw), (sh, sw), (ph, pw), ceil, countIncludePad), [x], what: "avg_pool2d");
    }

    [Theory]
    [InlineData(2, 3, 5, 7, 1, 1)]
    [InlineData(1, 2, 7, 8, 2, 3)]
    [InlineData(1, 1, 3, 3, 5, 4)]
    [InlineData(2, 2, 5, 4, 2, 1)]  // cells as wide as the plane (one block each) that overlap in row 2
    [InlineData(1, 3, 7, 3, 3, 1)]
    public void AdaptiveAvgPoolGradCheck(int n, int c, int h, int w, int oh, int ow)
    {
        var x = Tensor.Randn(new Generator(h * 10 + w), n, c, h, w);
        GradCheck.Check(t => Functional.AdaptiveAvgPool2d(t[0], (oh, ow)), [x], what: "adaptive_avg_pool2d");
    }

    [Fact]
    public void UnbatchedInputsWork()
    {
        var x = Tensor.Randn(new Generator(1), 3, 6, 5);
        Assert.Equal([3, 3, 2], new MaxPool2d(2).Forward(x).Shape);
        Assert.Equal([3, 3, 2], new AvgPool2d(2).Forward(x).Shape);
        Assert.Equal([3, 1, 1], new AdaptiveAvgPool2d(1).Forward(x).Shape);
    }

    public static TheoryData<string> PoolFixtures() => new(Fixtures.Names("pool"));

    // Tolerance 1e-4 relative (+1e-6 absolute): max pooling is exact; averages of ≤ 9 floats differ
    // from PyTorch only by summation order and division rounding (a few ulps).
    [Theory]
    [MemberData(nameof(PoolFixtures))]
    public void MatchesPyTorchFixture(string name)
    {
        var c = Fixtures.Load("pool", name);
        var cfg = Fixtures.Config(c);
        static Pair P(JsonElement e) => (e[0].GetInt32(), e[1].GetInt32());
        var x = c.Tensors["x"].RequiresGrad_();
        Module m = cfg.GetProperty("kind").GetString() switch
        {
            "max" => new MaxPool2d(P(cfg.GetProperty("kernel_size")), P(cfg.GetProperty("stride")), P(cfg.GetProperty("padding")),
                P(cfg.GetProperty("dilation")), cfg.GetProperty("ceil_mode").GetBoolean()),
            "avg" => new AvgPool2d(P(cfg.GetProperty("kernel_size")), P(cfg.GetProperty("stride")), P(cfg.GetProperty("padding")),
                cfg.GetProperty("ceil_mode").GetBoolean(), cfg.GetProperty("count_include_pad").GetBoolean()),
            "adaptive_avg" => new AdaptiveAvgPool2d(P(cfg.GetProperty("output_size"))),
            var k => throw new InvalidOperationException($"unknown pool kind {k} in fixture {name}"),
        };
        var y = m.Forward(x);
        Fixtures.AssertClose(c.Tensors["y"], y, 1e-4, 1e-6, $"{name} y", Generator_);
        (y * c.Tensors["dy"]).Sum().Backward();
        Fixtures.AssertClose(c.Tensors["dx"], x.Grad!, 1e-4, 1e-6, $"{name} dx", Generator_);
    }

    [Fact]
    public void BadInputsGivePyTorchLikeErrors()
    {
        Assert.Contains("pad should be at most half of effective kernel size, but got pad=2, kernel_size=2 and dilation=1",
            Assert.Throws<ArgumentException>(() => Functional.MaxPool2d(Tensor.Zeros(1, 1, 5, 5), 2, 2, 2)).Message);
        Assert.Contains("pad should be at most half of effective kernel size, but got pad=2, kernel_size=2 and dilation=1",
            Assert.Throws<ArgumentException>(() => Functional.AvgPool2d(Tensor.Zeros(1, 1, 5, 5), 2, 2, 2)).Message);
        Assert.Contains("Given input size: (1x1x1). Calculated output size: (1x-1x-1). Output size is too small",
            Assert.Throws<ArgumentException>(() => new MaxPool2d(3, 1).Forward(Tensor.Zeros(1, 1, 1, 1))).Message);
        Assert.Contains("Output size is too small",
            Assert.Throws<ArgumentException>(() => new AvgPool2d(3, 1).Forward(Tensor.Zeros(1, 1, 1, 1))).Message);
        Assert.Contains("3D or 4D (batch mode) tensor expected for input, but got input of size: [3, 2]",
            Assert.Throws<ArgumentException>(() => new MaxPool2d(2).Forward(Tensor.Zeros(3, 2))).Message);
        Assert.Contains("Expected 3D or 4D tensor",
            Assert.Throws<ArgumentException>(() => new AdaptiveAvgPool2d(1).Forward(Tensor.Zeros(3, 2))).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new MaxPool2d(2, padding: 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AvgPool2d(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdaptiveAvgPool2d(0));
        // A dilation whose (k − 1)·d wraps around in 32 bits must not yield a plausible output size.
        Assert.Contains("larger than the padded input",
            Assert.Throws<ArgumentException>(() => Functional.MaxPool2d(Tensor.Zeros(1, 1, 8, 8), 3, 1, 0, 1_500_000_000)).Message);
    }
}
