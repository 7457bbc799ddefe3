using CnnLab.Kernels;
using CnnLab.Nn;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>The direct depthwise convolution against its readable twin <see cref="Conv2dReference"/>.</summary>
public class DepthwiseConvTests
{
    // Depthwise geometries: 1 to 3 outputs per channel, kernels 1 to 7, strides 1 to 3, dilation 1 to 3, odd sizes.
    private static IEnumerable<Conv2dGeometry> Geometries(int count, long seed)
    {
        var r = new Generator(seed);
        for (int made = 0; made < count;)
        {
            int c = 2 + r.NextInt(5), m = 1 + r.NextInt(3), kh = 1 + r.NextInt(7), kw = 1 + r.NextInt(7);
            int sh = 1 + r.NextInt(3), sw = 1 + r.NextInt(3), dh = 1 + r.NextInt(3), dw = 1 + r.NextInt(3);
            int ph = r.NextInt(4), pw = r.NextInt(4), h = 1 + r.NextInt(19), w = 1 + r.NextInt(37);
            if (h + 2 * ph < dh * (kh - 1) + 1 || w + 2 * pw < dw * (kw - 1) + 1) continue;
            made++;
            yield return new Conv2dGeometry(1 + r.NextInt(3), c, h, w, c * m, kh, kw, sh, sw, ph, pw, dh, dw, c);
        }
    }

    public static TheoryData<int> Seeds() => new() { 1, 2, 3, 4, 5, 6 };

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Forward_and_backward_match_the_reference(int seed)
    {
        foreach (var g in Geometries(30, seed).Append(new Conv2dGeometry(2, 32, 32, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 32)))
        {
            Assert.Equal(ConvAlgorithm.Depthwise, ConvPlanner.Plan(g).Forward);
            var rnd = new Generator(seed + g.H * 100 + g.W);
            float[] x = Fill(rnd, g.N * g.C * g.H * g.W), w = Fill(rnd, g.OC * g.KH * g.KW), b = Fill(rnd, g.OC);
            float[] dy = Fill(rnd, g.N * g.OC * g.OH * g.OW);
            float[] y = new float[dy.Length], yRef = new float[dy.Length];
            Conv2dKernel.Forward(g, x, w, b, true, y);
            Conv2dReference.Forward(g, x, w, b, true, yRef);
            AssertClose(yRef, y, $"forward {g}");
            // Both accumulate onto 0.5 everywhere, so "+=" is checked too.
            float[] dx = Half(x.Length), dwF = Half(w.Length), db = Half(b.Length);
            float[] dxRef = Half(x.Length), dwRef = Half(w.Length), dbRef = Half(b.Length);
            Conv2dKernel.Backward(g, x, w, dy, dx, dwF, db);
            Conv2dReference.Backward(g, x, w, dy, dxRef, dwRef, dbRef);
            AssertClose(dxRef, dx, $"dx {g}");
            AssertClose(dwRef, dwF, $"dw {g}");
            AssertClose(dbRef, db, $"db {g}");
            // Overwriting dx never reads it (NaN there must not leak) and gives the bits of adding to zeros.
            float[] zeros = new float[x.Length], nans = Enumerable.Repeat(float.NaN, x.Length).ToArray();
            Conv2dKernel.Backward(g, x, w, dy, zeros, default, default);
            Conv2dKernel.Backward(g, x, w, dy, nans, default, default, overwriteDx: true);
            Assert.Equal(zeros, nans);
        }
    }

    // Narrow (≤ 16 columns) and wide planes, row counts that leave partial tiles (1, 3, 5, 7, 9, 13), odd vector counts.
    public static TheoryData<int, int, int, int, int> Tiles() => new()
    {
        { 1, 5, 1, 1, 1 }, { 3, 40, 1, 1, 1 }, { 7, 16, 2, 1, 1 }, { 9, 8, 1, 2, 2 }, { 13, 50, 3, 2, 1 }, { 26, 33, 2, 1, 2 },
    };

    [Theory]
    [MemberData(nameof(Tiles))]
    public void Forward_adds_bias_then_each_tap_in_order_by_fma(int oh, int ow, int m, int stride, int dilation)
    {
        // Input size giving oh x ow outputs of a 3x5 kernel with padding (1, 2).
        int kh = 3, kw = 5, h = (oh - 1) * stride + dilation * (kh - 1) + 1 - 2, w = (ow - 1) * stride + dilation * (kw - 1) + 1 - 4;
        var g = new Conv2dGeometry(2, 3, h, w, 3 * m, kh, kw, stride, stride, 1, 2, dilation, dilation, 3);
        Assert.Equal((oh, ow), (g.OH, g.OW));
        var rnd = new Generator(oh * 100 + ow);
        float[] x = Fill(rnd, g.N * g.C * g.H * g.W), wt = Fill(rnd, g.OC * kh * kw), b = Fill(rnd, g.OC);
        float[] y = new float[g.N * g.OC * oh * ow], expected = new float[y.Length];
        Conv2dKernel.Forward(g, x, wt, b, true, y, algorithm: ConvAlgorithm.Depthwise);
        for (int n = 0; n < g.N; n++)
            for (int o = 0; o < g.OC; o++)
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++)
                    {
                        float v = b[o];
                        for (int u = 0; u < kh; u++)
                            for (int t = 0; t < kw; t++)
                            {
                                int r = i * stride - 1 + u * dilation, c = j * stride - 2 + t * dilation;
                                float xv = r < 0 || r >= h || c < 0 || c >= w ? 0f : x[((n * g.C + o / m) * h + r) * w + c];
                                v = MathF.FusedMultiplyAdd(wt[(o * kh + u) * kw + t], xv, v);
                            }
                        expected[((n * g.OC + o) * oh + i) * ow + j] = v;
                    }
        Assert.Equal(expected, y);
    }

    // 3x3 at stride 1 on rows of 2 or 4 vectors runs by input rows (GatherRows3x3), 1 or 3 vectors tap by tap; partial tiles
    // in rows (1, 3, 5, 6, 9) and columns (17, 20, 30), with a ReLU and without.
    public static TheoryData<int, int, int, bool> Tiles3x3() => new()
    {
        { 1, 17, 1, false }, { 3, 32, 2, true }, { 5, 20, 1, false }, { 6, 64, 1, true }, { 9, 30, 3, false }, { 4, 40, 1, true },
    };

    [Theory]
    [MemberData(nameof(Tiles3x3))]
    public void Forward_3x3_adds_bias_then_each_tap_in_order_by_fma(int h, int w, int m, bool relu)
    {
        var g = new Conv2dGeometry(2, 3, h, w, 3 * m, 3, 3, 1, 1, 1, 1, 1, 1, 3);
        var rnd = new Generator(h * 100 + w);
        float[] x = Fill(rnd, g.N * g.C * h * w), wt = Fill(rnd, g.OC * 9), b = Fill(rnd, g.OC);
        x[5] = float.NaN;
        x[7] = -0f;
        float[] y = new float[g.N * g.OC * h * w], expected = new float[y.Length];
        Conv2dKernel.Forward(g, x, wt, b, true, y, relu, algorithm: ConvAlgorithm.Depthwise);
        for (int n = 0; n < g.N; n++)
            for (int o = 0; o < g.OC; o++)
                for (int i = 0; i < h; i++)
                    for (int j = 0; j < w; j++)
                    {
                        float v = b[o];
                        for (int u = 0; u < 3; u++)
                            for (int t = 0; t < 3; t++)
                            {
                                int r = i - 1 + u, c = j - 1 + t;
                                float xv = r < 0 || r >= h || c < 0 || c >= w ? 0f : x[((n * g.C + o / m) * h + r) * w + c];
                                v = MathF.FusedMultiplyAdd(wt[o * 9 + u * 3 + t], xv, v);
                            }
                        expected[((n * g.OC + o) * h + i) * w + j] = relu ? MathF.Max(v, 0f) : v;
                    }
        Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), y.Select(BitConverter.SingleToInt32Bits));
    }

    // The gathered dx: stride 1 (straight into dx), 2 (phases interleaved by permutes) and 3 (scalar merge), narrow and
    // wide planes, padding wider than the kernel (dy rows no dx row sees) and strides past the kernel (phases with no taps).
    public static TheoryData<Conv2dGeometry> InputGradientShapes() => new()
    {
        new Conv2dGeometry(2, 3, 9, 7, 6, 3, 3, 1, 1, 1, 1, 1, 1, 3),
        new Conv2dGeometry(2, 2, 13, 41, 2, 5, 3, 1, 1, 2, 1, 2, 1, 2),
        new Conv2dGeometry(1, 4, 16, 16, 4, 3, 3, 2, 2, 1, 1, 1, 1, 4),
        new Conv2dGeometry(2, 3, 17, 35, 9, 3, 5, 2, 2, 1, 2, 1, 2, 3),
        new Conv2dGeometry(1, 2, 11, 20, 4, 1, 1, 3, 3, 0, 0, 1, 1, 2),
        new Conv2dGeometry(1, 2, 7, 9, 2, 2, 2, 3, 2, 3, 3, 1, 1, 2),
        new Conv2dGeometry(2, 2, 23, 50, 6, 7, 7, 3, 3, 3, 3, 1, 1, 2),
    };

    [Theory]
    [MemberData(nameof(InputGradientShapes))]
    public void Gathered_input_gradient_matches_the_reference_added_or_written(Conv2dGeometry g)
    {
        var rnd = new Generator(g.H * 100 + g.W);
        float[] x = Fill(rnd, g.N * g.C * g.H * g.W), w = Fill(rnd, g.OC * g.KH * g.KW), dy = Fill(rnd, g.N * g.OC * g.OH * g.OW);
        float[] dx = Half(x.Length), dxRef = Half(x.Length), written = Enumerable.Repeat(float.NaN, x.Length).ToArray();
        float[] dw = new float[w.Length], dwRef = new float[w.Length];
        Conv2dKernel.Backward(g, x, w, dy, dx, dw, default, algorithm: ConvAlgorithm.Depthwise);
        Conv2dKernel.Backward(g, x, w, dy, written, default, default, overwriteDx: true, algorithm: ConvAlgorithm.Depthwise);
        Conv2dReference.Backward(g, x, w, dy, dxRef, dwRef, default);
        AssertClose(dxRef, dx, $"dx {g}");
        AssertClose(dwRef, dw, $"dw {g}");
        for (int i = 0; i < x.Length; i++) dxRef[i] -= 0.5f;
        AssertClose(dxRef, written, $"written dx {g}");
    }

    [Fact]
    public void Fused_relu_matches_relu_of_the_convolution_and_its_gradient()
    {
        var gen = new Generator(11);
        var x = Tensor.Randn(gen, 3, 6, 13, 11).RequiresGrad_();
        var w = Tensor.Randn(gen, 12, 1, 3, 3).RequiresGrad_();
        var b = Tensor.Randn(gen, 12).RequiresGrad_();
        var fused = Functional.Conv2dRelu(x, w, b, 2, 1, 1, 6);
        var plain = Functional.Relu(Functional.Conv2d(x, w, b, 2, 1, 1, 6));
        Assert.Equal(plain.ToArray(), fused.ToArray());
        Functional.Sum(fused).Backward();
        var grads = new[] { x.Grad!.ToArray(), w.Grad!.ToArray(), b.Grad!.ToArray() };
        foreach (var t in new[] { x, w, b }) t.ZeroGrad();
        Functional.Sum(plain).Backward();
        Assert.Equal(grads[0], x.Grad!.ToArray());
        Assert.Equal(grads[1], w.Grad!.ToArray());
        Assert.Equal(grads[2], b.Grad!.ToArray());
    }

    [Fact]
    public void Results_are_the_same_for_any_thread_count()
    {
        var g = new Conv2dGeometry(9, 8, 15, 17, 16, 3, 3, 2, 1, 1, 1, 2, 1, 8);
        var rnd = new Generator(3);
        float[] x = Fill(rnd, g.N * g.C * g.H * g.W), w = Fill(rnd, g.OC * 9), b = Fill(rnd, g.OC), dy = Fill(rnd, g.N * g.OC * g.OH * g.OW);
        (float[] Y, float[] Dx, float[] Dw, float[] Db) Run(int threads)
        {
            using (Parallelism.UseThreads(threads))
            {
                float[] y = new float[dy.Length], dx = new float[x.Length], dw = new float[w.Length], db = new float[b.Length];
                Conv2dKernel.Forward(g, x, w, b, true, y);
                Conv2dKernel.Backward(g, x, w, dy, dx, dw, db);
                return (y, dx, dw, db);
            }
        }
        var one = Run(1);
        var two = Run(2);
        Assert.Equal(one.Y, two.Y);
        Assert.Equal(one.Dx, two.Dx);
        Assert.Equal(one.Dw, two.Dw);
        Assert.Equal(one.Db, two.Db);
    }

    [Fact]
    public void Grouped_convolutions_with_several_channels_per_group_or_many_outputs_are_not_depthwise()
    {
        Assert.False(DepthwiseConv.Supports(new Conv2dGeometry(1, 8, 5, 5, 8, 3, 3, G: 4)));
        Assert.NotEqual(ConvAlgorithm.Depthwise, ConvPlanner.Plan(new Conv2dGeometry(1, 4, 5, 5, 64, 3, 3, G: 4)).Forward);
        Assert.False(DepthwiseConv.Supports(new Conv2dGeometry(1, 1, 5, 5, 4, 3, 3)));
    }

    [Fact]
    public void An_infinite_input_no_output_pairs_with_a_tap_leaves_that_taps_weight_gradient_finite()
    {
        // 3x3, padding 1, 20 columns (a vector and a tail): x's last column meets kw = 0 in no output, so dW[·, ·, 0] is finite.
        var g = new Conv2dGeometry(1, 2, 3, 20, 2, 3, 3, 1, 1, 1, 1, 1, 1, 2);
        var rnd = new Generator(7);
        float[] x = Fill(rnd, g.N * g.C * g.H * g.W), w = Fill(rnd, g.OC * 9), dy = Fill(rnd, g.N * g.OC * g.OH * g.OW);
        for (int c = 0; c < g.C; c++)
            for (int h = 0; h < g.H; h++) x[(c * g.H + h) * g.W + g.W - 1] = float.PositiveInfinity;
        float[] dw = new float[w.Length], db = new float[g.OC], dwRef = new float[w.Length], dbRef = new float[g.OC];
        Conv2dKernel.Backward(g, x, w, dy, default, dw, db, algorithm: ConvAlgorithm.Depthwise);
        Conv2dReference.Backward(g, x, w, dy, new float[x.Length], dwRef, dbRef);
        for (int i = 0; i < w.Length; i++)
        {
            Assert.Equal(float.IsFinite(dwRef[i]), float.IsFinite(dw[i]));
            if (float.IsFinite(dwRef[i])) Assert.Equal(dwRef[i], dw[i], 1e-4f);
        }
        Assert.Contains(dw, float.IsFinite);
    }

    private static float[] Fill(Generator r, int n)
    {
        var a = new float[n];
        r.FillNormal(a, 0, 1);
        return a;
    }

    private static float[] Half(int n) => Enumerable.Repeat(0.5f, n).ToArray();

    private static void AssertClose(float[] expected, float[] actual, string what) => Conv2dKernelTests.AssertClose(expected, actual, what);
}
