using System.Text.Json;
using CnnLab.Nn;
using CnnLab.Serialization;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

public class Conv2dTests
{
    private const string Generator_ = "tools/reference/make_conv_fixtures.py";

    [Fact]
    public void ForwardByHand()
    {
        // x = [[1, 2, 3], [4, 5, 6], [7, 8, 9]], w = [[1, 2], [3, 4]], b = 0.5, stride 1, no padding:
        // y00 = 1·1 + 2·2 + 4·3 + 5·4 + 0.5 = 37.5   y01 = 2·1 + 3·2 + 5·3 + 6·4 + 0.5 = 47.5
        // y10 = 4·1 + 5·2 + 7·3 + 8·4 + 0.5 = 67.5   y11 = 5·1 + 6·2 + 8·3 + 9·4 + 0.5 = 77.5
        var conv = new Conv2d(1, 1, 2);
        Tensor.FromArray([1, 2, 3, 4], 1, 1, 2, 2).Data.CopyTo(conv.Weight.Data);
        conv.Bias!.Data[0] = 0.5f;
        var x = Tensor.FromArray([1, 2, 3, 4, 5, 6, 7, 8, 9], 1, 1, 3, 3);
        var y = conv.Forward(x);
        Assert.Equal([1, 1, 2, 2], y.Shape);
        Assert.Equal([37.5f, 47.5f, 67.5f, 77.5f], y.ToArray());

        // Padding 1, stride 2: windows start at (−1, −1), (−1, 1), (1, −1), (1, 1); zeros outside.
        // (−1,−1): x00·w11 = 1·4 → 4.5;  (−1,1): x01·w10 + x02·w11 = 2·3 + 3·4 = 18 → 18.5
        // (1,−1): x10·w01 + x20·w11 = 4·2 + 7·4 = 36 → 36.5;  (1,1): 5·1 + 6·2 + 8·3 + 9·4 = 77 → 77.5
        var y2 = Functional.Conv2d(x, conv.Weight, conv.Bias, stride: 2, padding: 1);
        Assert.Equal([4.5f, 18.5f, 36.5f, 77.5f], y2.ToArray());
    }

    [Fact]
    public void DefaultsMatchPyTorch()
    {
        var conv = new Conv2d(3, 8, 3);
        Assert.Equal(new Pair(3, 3), conv.KernelSize);
        Assert.Equal(new Pair(1, 1), conv.Stride);
        Assert.Equal(new Pair(0, 0), conv.Padding);
        Assert.Equal(new Pair(1, 1), conv.Dilation);
        Assert.Equal(1, conv.Groups);
        Assert.NotNull(conv.Bias);
        Assert.Equal([8, 3, 3, 3], conv.Weight.Shape);
        Assert.Equal(["weight", "bias"], conv.StateDict().Keys);
    }

    [Fact]
    public void DefaultInitIsUniformWithinOneOverSqrtFanIn()
    {
        // fan_in = in/groups · kh · kw = 8/2 · 3 · 5 = 60
        var conv = new Conv2d(8, 4, (3, 5), groups: 2, generator: new Generator(1));
        Assert.Equal([4, 4, 3, 5], conv.Weight.Shape);
        float bound = 1f / MathF.Sqrt(60);
        Assert.All(conv.Weight.ToArray(), v => Assert.InRange(v, -bound, bound));
        Assert.All(conv.Bias!.ToArray(), v => Assert.InRange(v, -bound, bound));
        Assert.True(conv.Weight.ToArray().Max() > 0.8f * bound, "weights should fill the range");
    }

    [Fact]
    public void ExtraReprLikePyTorch()
    {
        Assert.Equal("Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))", new Conv2d(1, 32, 3, padding: 1).ToString());
        Assert.Equal("Conv2d(4, 8, kernel_size=(3, 5), stride=(2, 2), dilation=(2, 2), groups=2, bias=False)",
            new Conv2d(4, 8, (3, 5), stride: 2, dilation: 2, groups: 2, bias: false).ToString());
    }

    public static TheoryData<int[], bool> GradCases() => new()
    {
        // { n, c, h, w, oc, kh, kw, sh, sw, ph, pw, dilation, groups }, bias
        { [2, 3, 5, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1], true },
        { [1, 2, 7, 6, 3, 3, 2, 2, 3, 1, 0, 1, 1], true },
        { [2, 2, 7, 7, 2, 3, 3, 1, 1, 2, 2, 2, 1], false },
        { [1, 4, 5, 6, 6, 3, 3, 2, 1, 1, 1, 1, 2], true },
        { [2, 3, 5, 4, 3, 3, 3, 1, 1, 1, 1, 1, 3], true },
        { [1, 5, 3, 4, 2, 1, 1, 1, 1, 0, 0, 1, 1], true },
        { [1, 1, 6, 6, 2, 5, 5, 1, 1, 2, 2, 1, 1], true },
        // depthwise (DepthwiseConv): two outputs per channel with stride 2 and dilation 2; 7x7 with padding 3; stride 3x2
        { [2, 4, 9, 8, 8, 3, 3, 2, 2, 2, 2, 2, 4], true },
        { [1, 3, 9, 9, 3, 7, 7, 1, 1, 3, 3, 1, 3], false },
        { [1, 2, 8, 7, 2, 3, 2, 3, 2, 0, 1, 1, 2], true },
    };

    [Theory]
    [MemberData(nameof(GradCases))]
    public void GradCheckOnRandomShapes(int[] c, bool bias)
    {
        int n = c[0], ch = c[1], h = c[2], w = c[3], oc = c[4], kh = c[5], kw = c[6], sh = c[7], sw = c[8], ph = c[9], pw = c[10], d = c[11],
            groups = c[12];
        var g = new Generator(n * 100 + ch * 10 + h + oc);
        var x = Tensor.Randn(g, n, ch, h, w);
        var weight = Tensor.Randn(g, oc, ch / groups, kh, kw);
        Tensor[] inputs = bias ? [x, weight, Tensor.Randn(g, oc)] : [x, weight];
        GradCheck.Check(t => Functional.Conv2d(t[0], t[1], bias ? t[2] : null, (sh, sw), (ph, pw), d, groups), inputs,
            what: $"conv2d {string.Join(",", c)} bias={bias}");
    }

    [Fact]
    public void UnbatchedInputGivesUnbatchedOutputAndGradients()
    {
        var g = new Generator(4);
        var conv = new Conv2d(2, 3, 3, padding: 1, generator: g);
        var x = Tensor.Randn(g, 2, 5, 4);
        var y = conv.Forward(x);
        Assert.Equal([3, 5, 4], y.Shape);
        var batched = conv.Forward(x.Reshape(1, 2, 5, 4));
        Assert.Equal(batched.ToArray(), y.ToArray());
        GradCheck.Check(t => Functional.Conv2d(t[0], t[1], null, padding: 1), [Tensor.Randn(g, 2, 5, 4), Tensor.Randn(g, 3, 2, 3, 3)],
            what: "conv2d unbatched");
    }

    public static TheoryData<string> ConvFixtures() => new(Fixtures.Names("conv"));

    // Tolerance 1e-4 relative (+1e-5 absolute for values near zero): PyTorch and CnnLab both compute
    // in float32 but sum the up to 72 products of a window in different orders, which moves results
    // by a few ulps (~1e-6 relative); 1e-4 leaves room for that and still catches any wrong tap.
    [Theory]
    [MemberData(nameof(ConvFixtures))]
    public void MatchesPyTorchFixture(string name)
    {
        var c = Fixtures.Load("conv", name);
        var cfg = Fixtures.Config(c);
        static Pair P(JsonElement e) => (e[0].GetInt32(), e[1].GetInt32());
        var weight = c.Tensors["weight"];
        bool hasBias = cfg.GetProperty("bias").GetBoolean();
        int groups = cfg.GetProperty("groups").GetInt32();
        var conv = new Conv2d(weight.Shape[1] * groups, weight.Shape[0], P(cfg.GetProperty("kernel_size")), P(cfg.GetProperty("stride")),
            P(cfg.GetProperty("padding")), P(cfg.GetProperty("dilation")), groups, hasBias);
        var state = new Dictionary<string, Tensor> { ["weight"] = weight };
        if (hasBias) state["bias"] = c.Tensors["bias"];
        conv.LoadStateDict(state);
        var x = c.Tensors["x"].RequiresGrad_();
        var y = conv.Forward(x);
        Fixtures.AssertClose(c.Tensors["y"], y, 1e-4, 1e-5, $"{name} y", Generator_);
        (y * c.Tensors["dy"]).Sum().Backward();
        Fixtures.AssertClose(c.Tensors["dx"], x.Grad!, 1e-4, 1e-5, $"{name} dx", Generator_);
        Fixtures.AssertClose(c.Tensors["dweight"], conv.Weight.Grad!, 1e-4, 1e-5, $"{name} dweight", Generator_);
        if (hasBias) Fixtures.AssertClose(c.Tensors["dbias"], conv.Bias!.Grad!, 1e-4, 1e-5, $"{name} dbias", Generator_);
    }

    [Fact]
    public void AtLeastTwelveFixturesShip() => Assert.True(Fixtures.Names("conv").Count() >= 12, "conv fixtures missing: run " + Generator_);

    [Fact]
    public void BadInputsGivePyTorchLikeErrors()
    {
        var conv = new Conv2d(3, 32, 3);
        Assert.Contains("Given groups=1, weight of size [32, 3, 3, 3], expected input[1, 5, 8, 8] to have 3 channels, but got 5 channels instead",
            Assert.Throws<ArgumentException>(() => conv.Forward(Tensor.Zeros(1, 5, 8, 8))).Message);
        Assert.Contains("Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: [3, 2]",
            Assert.Throws<ArgumentException>(() => conv.Forward(Tensor.Zeros(3, 2))).Message);
        Assert.Contains(
            "Calculated padded input size per channel: (2 x 2). Kernel size: (3 x 3). Kernel size can't be greater than actual input size",
            Assert.Throws<ArgumentException>(() => conv.Forward(Tensor.Zeros(1, 3, 2, 2))).Message);
        Assert.Contains("expected bias to be 1-dimensional with 6 elements, but got bias of size [5] instead",
            Assert.Throws<ArgumentException>(() =>
                Functional.Conv2d(Tensor.Zeros(1, 4, 8, 8), Tensor.Zeros(6, 2, 3, 3), Tensor.Zeros(5), groups: 2)).Message);
        Assert.Contains("in_channels must be divisible by groups", Assert.Throws<ArgumentException>(() => new Conv2d(3, 4, 3, groups: 2)).Message);
        Assert.Contains("out_channels must be divisible by groups", Assert.Throws<ArgumentException>(() => new Conv2d(4, 3, 3, groups: 2)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2d(0, 4, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2d(1, 4, 3, stride: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2d(1, 4, 3, padding: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2d(1, 4, (3, 0)));
    }

    [Theory]
    [InlineData(int.MaxValue, 1)] // 8 + 2·(2^31 − 1) wraps to 6 in 32 bits: once accepted, then indexed far outside the input
    [InlineData(1_000_000, 1)]    // no wrap, but a 2-million-square padded plane
    [InlineData(1, 1_500_000_000)] // dilation·(k − 1) wraps negative
    public void HugePaddingOrDilationIsRejectedNotWrapped(int padding, int dilation)
    {
        var conv = new Conv2d(1, 4, 3, padding: padding, dilation: dilation);
        var e = Assert.Throws<ArgumentException>(() => conv.Forward(Tensor.Zeros(1, 1, 8, 8)));
        Assert.Contains("Calculated padded input size per channel", e.Message);
    }

    [Fact]
    public void StateDictRoundTripThroughSafeTensors()
    {
        var a = new Conv2d(2, 4, (3, 2), stride: 2, padding: 1, generator: new Generator(1));
        var b = new Conv2d(2, 4, (3, 2), stride: 2, padding: 1, generator: new Generator(2));
        var path = Path.Combine(Path.GetTempPath(), $"cnnlab-conv-{Guid.NewGuid():N}.safetensors");
        try
        {
            SafeTensors.Save(path, a.StateDict());
            b.LoadStateDict(SafeTensors.Load(path).Tensors);
        }
        finally
        {
            File.Delete(path);
        }
        var x = Tensor.Randn(new Generator(3), 2, 2, 7, 6);
        Assert.Equal(a.Forward(x).ToArray(), b.Forward(x).ToArray());
        var wrong = new Dictionary<string, Tensor> { ["weight"] = Tensor.Zeros(4, 2, 3, 3), ["bias"] = Tensor.Zeros(4) };
        Assert.Contains("size mismatch for weight", Assert.Throws<ArgumentException>(() => b.LoadStateDict(wrong)).Message);
    }
}
