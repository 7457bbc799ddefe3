using CnnLab.Kernels;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>The im2col + GEMM convolution against its direct-loop twin <see cref="Conv2dReference"/>, and im2col's adjoint.</summary>
public class Conv2dKernelTests
{
    // Random geometries: odd sizes, non-square everything, stride > 1, padding, dilation, groups, 1x1.
    private static IEnumerable<Conv2dGeometry> RandomGeometries(int count, long seed)
    {
        var r = new Generator(seed);
        int made = 0;
        while (made < count)
        {
            int groups = 1 + r.NextInt(3);
            int cg = 1 + r.NextInt(3), ocg = 1 + r.NextInt(4);
            int kh = 1 + r.NextInt(4), kw = 1 + r.NextInt(4);
            int sh = 1 + r.NextInt(3), sw = 1 + r.NextInt(3);
            int dh = 1 + r.NextInt(2), dw = 1 + r.NextInt(3);
            int ph = r.NextInt(3), pw = r.NextInt(3);
            int h = 1 + r.NextInt(11), w = 1 + r.NextInt(11);
            int n = 1 + r.NextInt(4);
            var g = new Conv2dGeometry(n, cg * groups, h, w, ocg * groups, kh, kw, sh, sw, ph, pw, dh, dw, groups);
            if (h + 2 * ph < dh * (kh - 1) + 1 || w + 2 * pw < dw * (kw - 1) + 1) continue;
            made++;
            yield return g;
        }
    }

    public static TheoryData<int> Seeds() => new() { 1, 2, 3, 4, 5, 6, 7, 8 };

    [Theory]
    [MemberData(nameof(Seeds))]
    public void FastMatchesReferenceForwardAndBackward(int seed)
    {
        foreach (var g in RandomGeometries(25, seed)) CompareWithReference(g, seed);
    }

    [Fact]
    public void FastMatchesReferenceOnLayerSizedShapes()
    {
        // cnn-small's second layer (batch 2) and a wide pointwise layer, so GEMM's vector tiles are exercised.
        CompareWithReference(new Conv2dGeometry(2, 32, 14, 14, 64, 3, 3, PH: 1, PW: 1), 1);
        CompareWithReference(new Conv2dGeometry(2, 40, 5, 7, 36, 1, 1), 2);
    }

    [Theory]
    [InlineData(100, 112)]
    [InlineData(784, 784)]
    [InlineData(256, 272)]    // a 16x16 plane: rows 1 KB apart would alias the image loads
    [InlineData(1024, 1040)]  // 32x32: 4 KB
    [InlineData(4096, 4112)]  // 64x64
    [InlineData(250, 272)]
    public void ColumnRowsAreNotAMultipleOf1KBApart(int pixels, int stride)
    {
        var g = new Conv2dGeometry(1, 3, pixels, 1, 8, 1, 1, SH: 1, SW: 1, PH: 0, PW: 0);
        Assert.Equal(pixels, g.ColCols);
        Assert.Equal(stride, Conv2dKernel.ColumnStride(g));
    }

    [Fact]
    public void FastMatchesReferenceOnPowerOfTwoPlanes()
    {
        // 16x16, 32x32 and 64x64 outputs: the column matrices' rows (forward, dW's, dx's) are padded off 1 KB multiples.
        CompareWithReference(new Conv2dGeometry(2, 3, 16, 16, 8, 5, 5, PH: 2, PW: 2), 3);
        CompareWithReference(new Conv2dGeometry(2, 3, 32, 32, 8, 3, 3, PH: 1, PW: 1), 4);
        CompareWithReference(new Conv2dGeometry(1, 2, 64, 64, 4, 3, 3, PH: 1, PW: 1), 5);
    }

    private static void CompareWithReference(Conv2dGeometry g, int seed)
    {
        var rnd = new Generator(seed * 7919L + ((g.N * 31 + g.C) * 31 + g.H) * 31 + g.W);
        var x = new float[g.N * g.C * g.H * g.W];
        var w = new float[g.OC * g.ColRows];
        var b = new float[g.OC];
        var dy = new float[g.N * g.OC * g.OH * g.OW];
        rnd.FillNormal(x, 0, 1); rnd.FillNormal(w, 0, 1); rnd.FillNormal(b, 0, 1); rnd.FillNormal(dy, 0, 1);

        var yFast = new float[dy.Length];
        var yRef = new float[dy.Length];
        Conv2dKernel.Forward(g, x, w, b, true, yFast);
        Conv2dReference.Forward(g, x, w, b, true, yRef);
        var plan = ConvPlanner.Plan(g);
        AssertClose(yRef, yFast, $"forward {g}", plan.Forward);

        // Both accumulate into the same nonzero start, so "+=" (not "=") is checked too.
        float[] Start(int len) { var a = new float[len]; Array.Fill(a, 0.5f); return a; }
        float[] dxF = Start(x.Length), dwF = Start(w.Length), dbF = Start(b.Length);
        float[] dxR = Start(x.Length), dwR = Start(w.Length), dbR = Start(b.Length);
        Conv2dKernel.Backward(g, x, w, dy, dxF, dwF, dbF);
        Conv2dReference.Backward(g, x, w, dy, dxR, dwR, dbR);
        AssertClose(dxR, dxF, $"dx {g}", plan.InputGradient);
        AssertClose(dwR, dwF, $"dw {g}", plan.WeightGradient);
        AssertClose(dbR, dbF, $"db {g}");
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void OverwrittenDxHasTheBitsOfAddingToZeros(int seed)
    {
        // overwriteDx never reads dx (NaN there must not leak) and gives what "+=" gives on zeros, bit for
        // bit, on the general, flat (3x3 "same"), stride-1 and pointwise col2im paths alike.
        var geometries = RandomGeometries(12, seed + 100).Concat([
            new Conv2dGeometry(2, 5, 9, 7, 6, 3, 3, PH: 1, PW: 1),
            new Conv2dGeometry(2, 3, 6, 9, 4, 3, 3, PH: 0, PW: 0),
            new Conv2dGeometry(2, 6, 4, 5, 3, 1, 1)]);
        foreach (var g in geometries)
        {
            var rnd = new Generator(seed);
            var x = new float[g.N * g.C * g.H * g.W]; rnd.FillNormal(x, 0, 1);
            var w = new float[g.OC * g.ColRows]; rnd.FillNormal(w, 0, 1);
            var dy = new float[g.N * g.OC * g.OH * g.OW]; rnd.FillNormal(dy, 0, 1);
            dy[0] = -0f;
            var added = new float[x.Length];
            Conv2dKernel.Backward(g, x, w, dy, added, default, default);
            var overwritten = Enumerable.Repeat(float.NaN, x.Length).ToArray();
            Conv2dKernel.Backward(g, x, w, dy, overwritten, default, default, overwriteDx: true);
            Assert.True(added.Select(BitConverter.SingleToInt32Bits).SequenceEqual(overwritten.Select(BitConverter.SingleToInt32Bits)),
                $"dx bits differ for {g}");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void BiasGradientHasTheBitsOfBackwardBias(int threads)
    {
        // Backward sums db per image while the block is in cache, in BackwardBias's order: the same bits.
        using var threadCount = ThreadCount.Use(threads);
        foreach (var g in RandomGeometries(20, 40 + threads).Append(new Conv2dGeometry(16, 8, 9, 9, 12, 3, 3, PH: 1, PW: 1)))
        {
            var rnd = new Generator(g.N * 7 + g.OC);
            var x = new float[g.N * g.C * g.H * g.W]; rnd.FillNormal(x, 0, 1);
            var w = new float[g.OC * g.ColRows]; rnd.FillNormal(w, 0, 1);
            var dy = new float[g.N * g.OC * g.OH * g.OW]; rnd.FillNormal(dy, 0, 1);
            var db = Enumerable.Repeat(0.25f, g.OC).ToArray();
            var expected = (float[])db.Clone();
            Conv2dKernel.Backward(g, x, w, dy, default, new float[w.Length], db);
            Conv2dKernel.BackwardBias(g, dy, expected);
            Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), db.Select(BitConverter.SingleToInt32Bits));
        }
    }

    [Fact]
    public void BackwardSkipsEmptyGradientsAndMatches()
    {
        var g = new Conv2dGeometry(2, 4, 6, 5, 6, 3, 3, 2, 1, 1, 1, 1, 1, 2);
        var rnd = new Generator(11);
        var x = new float[g.N * g.C * g.H * g.W]; rnd.FillNormal(x, 0, 1);
        var w = new float[g.OC * g.ColRows]; rnd.FillNormal(w, 0, 1);
        var dy = new float[g.N * g.OC * g.OH * g.OW]; rnd.FillNormal(dy, 0, 1);
        var dwOnly = new float[w.Length];
        var dwRef = new float[w.Length];
        Conv2dKernel.Backward(g, x, w, dy, default, dwOnly, default);
        Conv2dReference.Backward(g, x, w, dy, default, dwRef, default);
        AssertClose(dwRef, dwOnly, "dw only");
        var dxOnly = new float[x.Length];
        var dxRef = new float[x.Length];
        Conv2dKernel.Backward(g, x, w, dy, dxOnly, default, default);
        Conv2dReference.Backward(g, x, w, dy, dxRef, default, default);
        AssertClose(dxRef, dxOnly, "dx only");
    }

    [Fact]
    public void BackwardIsBitwiseReproducible()
    {
        var g = new Conv2dGeometry(16, 8, 9, 9, 12, 3, 3, PH: 1, PW: 1);
        var rnd = new Generator(5);
        var x = new float[g.N * g.C * g.H * g.W]; rnd.FillNormal(x, 0, 1);
        var w = new float[g.OC * g.ColRows]; rnd.FillNormal(w, 0, 1);
        var dy = new float[g.N * g.OC * g.OH * g.OW]; rnd.FillNormal(dy, 0, 1);
        float[] Run()
        {
            var dw = new float[w.Length];
            Conv2dKernel.Backward(g, x, w, dy, default, dw, default);
            return dw;
        }
        var first = Run();
        for (int i = 0; i < 5; i++) Assert.Equal(first, Run());
        // The batch is cut into the same chunks whatever the thread count, so dW has the same bits.
        foreach (int threads in new[] { 1, 2, 3 })
            using (Parallelism.UseThreads(threads))
                Assert.Equal(first, Run());
    }

    [Theory]
    [InlineData(24, 8, 8, 32)]    // 64 pixels: the input's rows read in place by the GEMM
    [InlineData(400, 16, 16, 16)] // 256 pixels, a sum longer than one GEMM slice: in place, slice by slice
    [InlineData(8, 32, 32, 16)]   // 1,024 pixels: rows 4 KB apart, packed
    [InlineData(5, 7, 9, 16)]     // 63 pixels: a partial last vector, packed
    [InlineData(64, 16, 16, 24, 64)] // 64 KB an image, 4 MB the call: packed while the next image is asked for, the last in place
    public void PointwiseForwardReadsItsInputInPlaceWithThePackedBits(int c, int h, int w, int oc, int n = 3)
    {
        var g = new Conv2dGeometry(n, c, h, w, oc, 1, 1);
        var r = new Generator(c + h);
        float[] x = new float[g.N * c * h * w], wt = new float[oc * c], b = new float[oc];
        r.FillNormal(x, 0f, 1f);
        r.FillNormal(wt, 0f, 1f);
        r.FillNormal(b, 0f, 1f);
        var expected = new float[g.N * oc * h * w];
        Conv2dReference.Forward(g, x, wt, b, true, expected);
        var y = new float[expected.Length];
        Conv2dKernel.Forward(g, x, wt, b, true, y, relu: false, algorithm: ConvAlgorithm.Im2ColGemm);
        AssertClose(expected, y, $"pointwise {g}");
        // Where the GEMM takes the sum in one slice, the channel-blocked kernel adds the same products in the same order.
        if (!System.Runtime.Intrinsics.X86.Avx512F.IsSupported || c > Gemm.KcMax) return;
        var direct = new float[expected.Length];
        Conv2dKernel.Forward(g, x, wt, b, true, direct, relu: false, algorithm: ConvAlgorithm.ChannelBlocked);
        Assert.Equal(direct, y);
    }

    [Theory]
    [InlineData(256, 64, true, 64, false)]    // 64 KB with a next image, 4 MB a call: packed, the next image asked for as it runs
    [InlineData(256, 64, false, 64, true)]    // the last image (or one alone): nothing to ask for, read in place
    [InlineData(256, 64, true, 63, true)]     // a call under 4 MB (a slice of an inference batch): in cache, in place
    [InlineData(256, 63, true, 128, true)]    // under 64 KB: in place
    [InlineData(144, 128, true, 128, true)]   // planes under 256 pixels: in place
    [InlineData(1024, 16, false, 1, false)]   // rows 4 KB apart: always packed
    [InlineData(63, 4, false, 1, false)]      // a partial last vector: packed
    public void PointwiseForwardReadsInPlaceUnlessALargeInputCanBeAskedForAhead(int pixels, int inputs, bool nextAsked, int images,
        bool inPlace) => Assert.Equal(inPlace, Conv2dKernel.PointwiseReadsInPlace(pixels, inputs, nextAsked, images));

    [Fact]
    public void Col2ImIsTheAdjointOfIm2Col()
    {
        // <im2col(x), c> = <x, col2im(c)> for every x, c: col2im is im2col's transpose.
        var r = new Generator(9);
        int c = 2, h = 7, w = 6, kh = 3, kw = 2, sh = 2, sw = 3, ph = 1, pw = 1, dh = 2, dw = 1;
        int oh = (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1, ow = (w + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
        var x = new float[c * h * w]; r.FillNormal(x, 0, 1);
        var col = new float[c * kh * kw * oh * ow]; r.FillNormal(col, 0, 1);
        var colOfX = new float[col.Length];
        ConvColumns.Im2Col(x, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, colOfX);
        var imOfCol = new float[x.Length];
        ConvColumns.Col2Im(col, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, imOfCol);
        double lhs = 0, rhs = 0;
        for (int i = 0; i < col.Length; i++) lhs += (double)colOfX[i] * col[i];
        for (int i = 0; i < x.Length; i++) rhs += (double)x[i] * imOfCol[i];
        Assert.Equal(lhs, rhs, 1e-4);
    }

    [Fact]
    public void Im2ColByHand()
    {
        // x = [[1, 2, 3], [4, 5, 6]] (1 channel, 2x3), kernel 2x2, padding (0, 1), stride 1 → OH 1, OW 4.
        // Rows are the taps (0,0), (0,1), (1,0), (1,1); columns the output positions ow = 0..3 at input x = ow − 1 + kw.
        float[] x = [1, 2, 3, 4, 5, 6];
        var col = new float[4 * 4];
        ConvColumns.Im2Col(x, 1, 2, 3, 2, 2, 1, 1, 0, 1, 1, 1, 1, 4, col);
        Assert.Equal([0, 1, 2, 3, 1, 2, 3, 0, 0, 4, 5, 6, 4, 5, 6, 0], col);
        // With rows 6 apart the same numbers appear, each row followed by two zeroed columns.
        var strided = Enumerable.Repeat(9f, 4 * 6).ToArray();
        ConvColumns.Im2Col(x, 1, 2, 3, 2, 2, 1, 1, 0, 1, 1, 1, 1, 4, strided, colStride: 6);
        Assert.Equal([0, 1, 2, 3, 0, 0, 1, 2, 3, 0, 0, 0, 0, 4, 5, 6, 0, 0, 4, 5, 6, 0, 0, 0], strided);
    }

    // Fast and reference sum in different orders (float GEMM vs double loops): 1e-4 relative plus
    // 1e-4 absolute covers float32 rounding of sums of up to ~100 unit-normal products.
    // Every convolution algorithm against the reference: within 1e-4 absolute plus 1e-4 relative; Winograd F(4x4, 3x3) and
    // F(2x2, 5x5), whose transforms multiply by up to 8 before the sum and cancel after it, also within 2e-5 of the largest output.
    internal static void AssertClose(float[] expected, float[] actual, string what, ConvAlgorithm algorithm = ConvAlgorithm.Auto)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = 0;
        if (algorithm is ConvAlgorithm.Winograd4x4 or ConvAlgorithm.Winograd5x5)
            foreach (var v in expected) scale = Math.Max(scale, 2e-5 * Math.Abs(v));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4 + 1e-4 * Math.Abs(expected[i]) + scale,
                $"{what}: element {i} is {actual[i]}, reference {expected[i]}");
    }
}
