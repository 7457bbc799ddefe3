using CnnLab.Kernels;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>The parallel pooling and ReLU kernels against their scalar single-threaded twins, bit for bit, at 1 and 2 threads.</summary>
public class PoolingKernelTests
{
    private static float[] RandomValues(int n, long seed, bool specials = false)
    {
        var r = new Generator(seed);
        var v = new float[n];
        r.FillNormal(v, 0f, 1f);
        // A few ties, NaNs and infinities, so that the fast paths hand them to the general rule.
        if (specials)
            for (int i = 0; i < n; i += 37)
                v[i] = (i / 37 % 4) switch { 0 => float.NaN, 1 => float.PositiveInfinity, 2 => float.NegativeInfinity, _ => v[Math.Max(0, i - 1)] };
        return v;
    }

    public static TheoryData<int, int, int, int, int, int, int, int> Geometries => new()
    {
        // N, C, H, W, K, S, P, D
        { 3, 5, 28, 28, 2, 2, 0, 1 },   // cnn-small's pools (2x2 fast path)
        { 2, 3, 7, 9, 2, 2, 0, 1 },     // odd sizes: the last row/column is dropped
        { 2, 4, 11, 10, 3, 2, 1, 1 },   // overlapping windows with padding (general loop)
        { 1, 2, 9, 9, 2, 1, 0, 2 },     // dilation
        { 40, 8, 14, 14, 2, 2, 0, 1 },  // enough planes to split across threads
        { 2, 3, 6, 70, 2, 2, 0, 1 },    // 35 outputs a row: two whole vectors and a partial one
    };

    [Theory]
    [MemberData(nameof(Geometries))]
    public void MaxPool_matches_its_twin_for_every_thread_count(int n, int c, int h, int w, int k, int s, int p, int d)
    {
        foreach (bool ceil in new[] { false, true })
        foreach (bool specials in new[] { false, true })
        {
            var g = new Pool2dGeometry(n, c, h, w, k, k, s, s, p, p, d, d, ceil);
            var x = RandomValues(n * c * h * w, 1 + h, specials);
            int outs = n * c * g.OH * g.OW;
            var yRef = new float[outs];
            var idxRef = new int[outs];
            MaxPool2dKernel.ForwardReference(g, x, yRef, idxRef);
            var dy = RandomValues(outs, 2);
            var dxRef = new float[x.Length];
            MaxPool2dKernel.BackwardReference(g, dy, idxRef, dxRef);
            foreach (int threads in new[] { 1, 2 })
                WithThreads(threads, () =>
                {
                    var y = new float[outs];
                    var idx = new int[outs];
                    MaxPool2dKernel.Forward(g, x, y, idx);
                    Assert.Equal(idxRef, idx);
                    AssertBitwise(yRef, y, "max-pool forward");
                    var dx = new float[x.Length];
                    MaxPool2dKernel.Backward(g, dy, idx, dx);
                    AssertBitwise(dxRef, dx, "max-pool backward");
                    // Overwriting: whatever dx held before, the result is the same.
                    var stale = RandomValues(x.Length, 3);
                    MaxPool2dKernel.Backward(g, dy, idx, stale, overwrite: true);
                    AssertBitwise(dxRef, stale, "max-pool backward (overwrite)");
                });
        }
    }

    [Fact]
    public void MaxPool_2x2_fast_path_keeps_the_first_maximum_and_the_first_NaN()
    {
        var g = new Pool2dGeometry(1, 1, 2, 4, 2, 2, 2, 2);
        // Window 0: a tie between top-left and bottom-right → top-left (index 0).
        // Window 1: NaN at bottom-left after a larger value → the NaN (index 6).
        float[] x = [5, 1, 9, 2,
                     3, 5, float.NaN, 7];
        var y = new float[2];
        var idx = new int[2];
        MaxPool2dKernel.Forward(g, x, y, idx);
        Assert.Equal(5f, y[0]);
        Assert.Equal(0, idx[0]);
        Assert.True(float.IsNaN(y[1]));
        Assert.Equal(6, idx[1]);
    }

    [Fact]
    public void MaxPool_backward_rejects_an_index_outside_its_plane()
    {
        var g = new Pool2dGeometry(1, 1, 2, 2, 2, 2, 2, 2);
        Assert.Throws<ArgumentException>(() => MaxPool2dKernel.Backward(g, new float[1], new[] { 4 }, new float[4]));
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void AvgPool_matches_its_twin_for_every_thread_count(int n, int c, int h, int w, int k, int s, int p, int d)
    {
        if (d != 1) return; // avg_pool2d has no dilation
        foreach (bool includePad in new[] { true, false })
        {
            var g = new Pool2dGeometry(n, c, h, w, k, k, s, s, p, p, 1, 1, CeilMode: includePad);
            var x = RandomValues(n * c * h * w, 3, specials: true);
            int outs = n * c * g.OH * g.OW;
            var yRef = new float[outs];
            AvgPool2dKernel.ForwardReference(g, includePad, x, yRef);
            var dy = RandomValues(outs, 4, specials: true);
            var dx0 = RandomValues(x.Length, 5);   // the backward adds to what is there
            var dxRef = (float[])dx0.Clone();
            AvgPool2dKernel.BackwardReference(g, includePad, dy, dxRef);
            foreach (int threads in new[] { 1, 2 })
                WithThreads(threads, () =>
                {
                    var y = new float[outs];
                    AvgPool2dKernel.Forward(g, includePad, x, y);
                    AssertBitwise(yRef, y, "avg-pool forward");
                    var dx = (float[])dx0.Clone();
                    AvgPool2dKernel.Backward(g, includePad, dy, dx);
                    AssertBitwise(dxRef, dx, "avg-pool backward");
                });
        }
    }

    [Fact]
    public void Relu_matches_its_twin_at_every_length_and_thread_count()
    {
        foreach (int n in Enumerable.Range(0, 70).Concat([32767, 32768, 65537, 200_003]))
        {
            var x = RandomValues(n, n, specials: true);
            var dy = RandomValues(n, n + 1);
            var yRef = new float[n];
            var dxRef = new float[n];
            ReluKernel.ForwardReference(x, yRef);
            ReluKernel.BackwardReference(yRef, dy, dxRef);
            foreach (int threads in new[] { 1, 2 })
                WithThreads(threads, () =>
                {
                    var y = new float[n];
                    var dx = new float[n];
                    ReluKernel.Forward(x, y);
                    AssertBitwise(yRef, y, $"relu forward n={n}");
                    ReluKernel.Backward(y, dy, dx);
                    AssertBitwise(dxRef, dx, $"relu backward n={n}");
                });
        }
    }

    [Fact]
    public void Relu_rejects_buffers_of_different_lengths()
    {
        Assert.Throws<ArgumentException>(() => ReluKernel.Forward(new float[3], new float[2]));
        Assert.Throws<ArgumentException>(() => ReluKernel.Backward(new float[3], new float[3], new float[4]));
    }

    private static void AssertBitwise(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i])
                && !(float.IsNaN(expected[i]) && float.IsNaN(actual[i])))
                Assert.Fail($"{what}: element {i} is {actual[i]}, expected {expected[i]}");
    }

    private static void WithThreads(int threads, Action body)
    {
        using (ThreadCount.Use(threads)) body();
    }
}

/// <summary>The parallel batch-norm kernels against their single-threaded twins, bit for bit.</summary>
public class BatchNormKernelTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public unsafe void Channel_by_channel_backward_equals_the_two_passes_bit_for_bit(int threads)
    {
        using var threadCount = ThreadCount.Use(threads);
        int n = 7, c = 5, s = 196;
        var gen = new Generator(41);
        var x = new float[n * c * s];
        var dy = new float[x.Length];
        gen.FillNormal(x, 0.5f, 2f);
        gen.FillNormal(dy, 0f, 1f);
        double[] mean = new double[c], variance = new double[c];
        BatchNormKernel.Statistics(x, n, c, s, mean, variance);
        var invStd = variance.Select(v => 1 / Math.Sqrt(v + 1e-5)).ToArray();
        var gamma = Enumerable.Range(0, c).Select(i => 0.5 + i).ToArray();
        double[] a = new double[c], b = new double[c], a2 = new double[c], b2 = new double[c];
        var dx = new float[x.Length];
        var dx2 = new float[x.Length];
        BatchNormKernel.GradientSums(dy, x, n, c, s, mean, invStd, a, b);
        BatchNormKernel.InputGradient(dy, x, dx, n, c, s, mean, invStd, gamma, a, b);
        fixed (float* pdy = dy)
            BatchNormKernel.BackwardFrom(new StoredPlanes(pdy, s), x, dx2, n, c, s, mean, invStd, gamma, a2, b2);
        Assert.Equal(a, a2);
        Assert.Equal(b, b2);
        Assert.Equal(dx, dx2);
    }

    [Theory]
    [InlineData(9, 3, 49)]
    [InlineData(5, 17, 196)]
    public void Statistics_from_plane_statistics_equal_the_direct_pass_bit_for_bit(int n, int c, int s)
    {
        // The fused convolution hands each plane's mean and squared deviations over; merged channel by channel in image order
        // they must give the standalone pass's bits, whichever loop order the merge runs in.
        var x = new float[n * c * s];
        new Generator(11).FillNormal(x, 0.3f, 2f);
        double[] planeMeans = new double[n * c], planeSquares = new double[n * c];
        for (int plane = 0; plane < n * c; plane++)
            (planeMeans[plane], planeSquares[plane]) = BatchNormPlanes.MeanAndSquaredDeviations(x.AsSpan(plane * s, s));
        double[] mean = new double[c], variance = new double[c], fromPlanes = new double[c], varianceFromPlanes = new double[c];
        BatchNormKernel.Statistics(x, n, c, s, mean, variance);
        BatchNormKernel.StatisticsFromPlanes(planeMeans, planeSquares, n, c, s, fromPlanes, varianceFromPlanes);
        Assert.Equal(mean.Select(BitConverter.DoubleToInt64Bits), fromPlanes.Select(BitConverter.DoubleToInt64Bits));
        Assert.Equal(variance.Select(BitConverter.DoubleToInt64Bits), varianceFromPlanes.Select(BitConverter.DoubleToInt64Bits));
    }

    [Theory]
    [InlineData(1e4f)]
    [InlineData(-3e5f)]
    public void Variance_survives_a_large_mean(float offset)
    {
        // Unit-variance planes far from zero: a one-pass Σx² − (Σx)²/M would lose every digit in float.
        int n = 9, c = 2, s = 196;
        var x = new float[n * c * s];
        new Generator(5).FillNormal(x, offset, 1f);
        double[] mean = new double[c], variance = new double[c], meanRef = new double[c], varRef = new double[c];
        BatchNormKernel.Statistics(x, n, c, s, mean, variance);
        BatchNormKernel.StatisticsReference(x, n, c, s, meanRef, varRef);
        for (int ch = 0; ch < c; ch++)
        {
            Assert.True(Math.Abs(mean[ch] - meanRef[ch]) <= 1e-6 * Math.Abs(offset), $"mean {mean[ch]} vs {meanRef[ch]}");
            Assert.True(Math.Abs(variance[ch] - varRef[ch]) <= 1e-3 * varRef[ch], $"variance {variance[ch]} vs {varRef[ch]}");
        }
    }

    [Theory]
    [InlineData(784)]
    [InlineData(196)]
    [InlineData(37)]
    public void Fused_scale_shift_relu_equals_scale_shift_then_relu_bit_for_bit(int s)
    {
        var x = new float[s];
        new Generator(s).FillNormal(x, 0f, 1f);
        x[3] = float.NaN;
        x[5] = -0f;
        x[s - 1] = float.NegativeInfinity;
        x[s - 2] = float.NaN;
        var plain = new float[s];
        BatchNormKernel.ScaleShift(x, plain, 1, 1, s, [1.5f], [-0f]);
        ReluKernel.Forward(plain, plain);
        var fused = new float[s];
        BatchNormPlanes.ScaleShiftRelu(x, 1.5f, -0f, fused);
        Assert.Equal(plain.Select(BitConverter.SingleToInt32Bits), fused.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(0, BitConverter.SingleToInt32Bits(fused[5])); // −0·1.5 + (−0) = −0, which the ReLU turns into +0
    }

    [Theory]
    [InlineData(3, 5, 7)]
    [InlineData(16, 32, 49)]
    [InlineData(4, 1, 1)]
    [InlineData(6, 3, 784)]
    [InlineData(5, 2, 196)]
    public void Parallel_kernels_match_their_twins(int n, int c, int s)
    {
        var gen = new Generator(n * 100 + c);
        var x = new float[n * c * s];
        var dy = new float[x.Length];
        gen.FillNormal(x, 0.5f, 2f);
        gen.FillNormal(dy, 0f, 1f);
        var scale = new float[c];
        var shift = new float[c];
        gen.FillNormal(scale, 1f, 0.2f);
        gen.FillNormal(shift, 0f, 0.2f);
        double[] meanRef = new double[c], varRef = new double[c], aRef = new double[c], bRef = new double[c];
        var yRef = new float[x.Length];
        var dxRef = new float[x.Length];
        BatchNormKernel.StatisticsReference(x, n, c, s, meanRef, varRef);
        var invStd = varRef.Select(v => 1 / Math.Sqrt(v + 1e-5)).ToArray();
        var gamma = scale.Select(v => (double)v).ToArray();
        BatchNormKernel.ScaleShiftReference(x, yRef, n, c, s, scale, shift);
        BatchNormKernel.GradientSumsReference(dy, x, n, c, s, meanRef, invStd, aRef, bRef);
        BatchNormKernel.InputGradientReference(dy, x, dxRef, n, c, s, meanRef, invStd, gamma, aRef, bRef);
        // The fast kernels sum each plane in float vector lanes (the planes in double), the twins all in
        // double: they agree to float precision, and the fast ones give the same bits for any thread count.
        static void Close(double expected, double actual, double scale, string what) =>
            Assert.True(Math.Abs(expected - actual) <= 1e-5 * scale, $"{what}: {actual} vs {expected}");
        float[]? firstDx = null;
        foreach (int threads in new[] { 1, 2 })
        {
            using (Parallelism.UseThreads(threads))
            {
                double[] mean = new double[c], variance = new double[c], a = new double[c], b = new double[c];
                var y = new float[x.Length];
                var dx = new float[x.Length];
                BatchNormKernel.Statistics(x, n, c, s, mean, variance);
                BatchNormKernel.ScaleShift(x, y, n, c, s, scale, shift);
                BatchNormKernel.GradientSums(dy, x, n, c, s, meanRef, invStd, a, b);
                BatchNormKernel.InputGradient(dy, x, dx, n, c, s, meanRef, invStd, gamma, aRef, bRef);
                for (int ch = 0; ch < c; ch++)
                {
                    Close(meanRef[ch], mean[ch], 1, "mean");
                    Close(varRef[ch], variance[ch], varRef[ch], "variance");
                    Close(aRef[ch], a[ch], Math.Sqrt(n * s), "sum dy");
                    Close(bRef[ch], b[ch], Math.Sqrt(n * s), "sum dy·x̂");
                }
                Assert.Equal(yRef, y);
                for (int i = 0; i < dx.Length; i++) Close(dxRef[i], dx[i], 1 + Math.Abs(dxRef[i]), "dx");
                if (firstDx is null) firstDx = dx;
                else Assert.Equal(firstDx, dx);
            }
        }
        Assert.Throws<ArgumentException>(() => BatchNormKernel.ScaleShift(x, new float[x.Length - 1], n, c, s, scale, shift));
    }
}
