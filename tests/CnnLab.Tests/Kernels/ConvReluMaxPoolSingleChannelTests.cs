using System.Runtime.Intrinsics.X86;
using CnnLab.Kernels;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// The direct one-input-channel conv → ReLU → 2x2 max pool (<see cref="ConvReluMaxPoolSingleChannel"/>)
/// against the general fused path (im2col + GEMM, then the pool), bit for bit in pooled values, and its
/// window codes naming the general path's argmax wherever the gradient flows: small-integer data where
/// windows tie, NaN, ±Inf and −0 in x, with and without bias, odd sizes,
/// rows of one, two and three vectors, odd and even pooled row counts, at 1 and 2 threads; nothing is
/// written past the pooled output. Its weight and bias gradients agree with the general path's to
/// rounding (summed in another order) and are the same bits for any thread count. Inference's values-only forward gives
/// the same pooled bits.
/// </summary>
public class ConvReluMaxPoolSingleChannelTests
{
    public static TheoryData<int, int, int, int, bool, int> Shapes => new()
    {
        // N, OC, H, W, ceil mode, kernel side (3: padding 1, 5: padding 2)
        { 5, 8, 28, 28, false, 3 },   // cnn-small's first stage
        { 3, 5, 15, 17, false, 3 },   // odd sides: the last conv row and column are not pooled; 7 pooled rows
        { 2, 3, 14, 14, true, 3 },    // ceil mode where every window is whole
        { 2, 4, 9, 70, false, 3 },    // 35 pooled columns: two full vectors and a partial one
        { 2, 7, 6, 33, false, 3 },    // 16 pooled columns: exactly one vector
        { 4, 6, 30, 30, false, 3 },   // 15 pooled rows
        { 1, 1, 2, 2, false, 3 },     // one pooled output
        { 16, 3, 12, 12, false, 3 },  // enough images for two threads
        { 5, 6, 28, 28, false, 5 },   // lenet5's first stage: 14 pooled rows, four at a time, then two
        { 3, 5, 15, 17, false, 5 },   // odd sides; 7 pooled rows: four, then three
        { 2, 3, 10, 12, false, 5 },   // 5 pooled rows: four, then one
        { 2, 4, 9, 70, false, 5 },    // 35 pooled columns
        { 2, 3, 14, 14, true, 5 },    // ceil mode where every window is whole
        { 1, 2, 2, 2, false, 5 },     // one pooled output: the kernel is mostly padding
        { 16, 3, 12, 12, false, 5 },  // enough images for two threads
    };

    private static float[] Values(int n, long seed, bool ties)
    {
        var r = new Generator(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++)
        {
            int k = r.NextInt(60);
            v[i] = !ties ? (float)r.NextGaussian() : k switch
            {
                0 => float.NaN,
                1 => float.NegativeInfinity,
                2 => float.PositiveInfinity,
                3 => -0f,
                _ => r.NextInt(5) - 2,
            };
        }
        return v;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Matches_the_general_path_bit_for_bit(int n, int oc, int h, int w, bool ceil, int k)
    {
        var g = new Conv2dGeometry(n, 1, h, w, oc, k, k, 1, 1, k / 2, k / 2);
        var pool = new Pool2dGeometry(n, oc, h, w, 2, 2, 2, 2, 0, 0, 1, 1, ceil);
        if (!Avx512F.IsSupported) return; // the direct path is AVX-512 only; elsewhere the general path is all there is
        Assert.True(ConvReluMaxPoolSingleChannel.Supports(g, pool));
        int outs = n * oc * pool.OH * pool.OW;
        foreach (int threads in new[] { 1, 2 })
            for (int seed = 1; seed <= 4; seed++)
            {
                bool ties = seed % 2 == 1, hasBias = seed <= 2;
                var x = Values(n * h * w, seed * 7 + h, ties);
                var wt = Values(oc * k * k, seed * 11 + w, ties: false);
                if (ties) for (int i = 0; i < wt.Length; i++) wt[i] = MathF.Round(wt[i] * 2);   // integer sums: exact, so ties survive
                var b = hasBias ? Values(oc, seed * 13, ties: false) : [];
                var (yRef, idxRef) = (new float[outs], new int[outs]);
                // 64 sentinels past the end of each output: nothing may be stored past the last pooled row.
                int codesLength = (int)ConvReluMaxPoolSingleChannel.CodesLength(g, pool);
                var (y, codes) = (new float[outs + 64], new byte[codesLength + 64]);
                y.AsSpan(outs).Fill(1234.5f);
                codes.AsSpan(codesLength).Fill(77);
                using (ThreadCount.Use(threads))
                {
                    ConvReluMaxPoolKernel.Forward(g, pool, x, wt, b, hasBias, yRef, idxRef);
                    ConvReluMaxPoolSingleChannel.Forward(g, pool, x, wt, b, hasBias, y, codes);
                }
                Assert.Equal(BitsOf(yRef), BitsOf(y[..outs]));
                AssertCodesName(g, pool, yRef, idxRef, codes);
                Assert.All(y[outs..], v => Assert.Equal(1234.5f, v));
                Assert.All(codes[codesLength..], v => Assert.Equal(77, v));
                // Inference's values alone: the same bits, and nothing past the output either.
                var values = new float[outs + 64];
                values.AsSpan(outs).Fill(1234.5f);
                using (ThreadCount.Use(threads)) ConvReluMaxPoolSingleChannel.ForwardValues(g, pool, x, wt, b, hasBias, values);
                Assert.Equal(BitsOf(yRef), BitsOf(values[..outs]));
                Assert.All(values[outs..], v => Assert.Equal(1234.5f, v));
                if (outs < 16) continue;
                if (ties) Assert.Contains(y[..outs], float.IsNaN);
                Assert.Contains(y[..outs], v => v == 0f);   // the ReLU did cut something
            }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Weight_gradient_agrees_with_the_general_path_and_is_the_same_for_any_thread_count(int n, int oc, int h, int w, bool ceil, int k)
    {
        var g = new Conv2dGeometry(n, 1, h, w, oc, k, k, 1, 1, k / 2, k / 2);
        var pool = new Pool2dGeometry(n, oc, h, w, 2, 2, 2, 2, 0, 0, 1, 1, ceil);
        if (!Avx512F.IsSupported) return;
        int outs = n * oc * pool.OH * pool.OW;
        var x = Values(n * h * w, h * 31 + w, ties: false);
        var wt = Values(oc * k * k, 5, ties: false);
        var b = Values(oc, 6, ties: false);
        var dp = Values(outs, 7, ties: false);
        var (y, idx) = (new float[outs], new int[outs]);
        ConvReluMaxPoolKernel.Forward(g, pool, x, wt, b, true, y, idx);
        var codes = new byte[ConvReluMaxPoolSingleChannel.CodesLength(g, pool)];
        ConvReluMaxPoolSingleChannel.Forward(g, pool, x, wt, b, true, new float[outs], codes);
        // Accumulated onto what is there: start from ones.
        float[] DwOnes() => Enumerable.Repeat(1f, oc * k * k).ToArray();
        float[] DbOnes() => Enumerable.Repeat(1f, oc).ToArray();
        var (dwRef, dbRef) = (DwOnes(), DbOnes());
        ConvReluMaxPoolKernel.Backward(g, pool, x, wt, y, idx, dp, default, dwRef, dbRef);
        var results = new List<(float[] Dw, float[] Db)>();
        foreach (int threads in new[] { 1, 2 })
        {
            var (dw, db) = (DwOnes(), DbOnes());
            using (ThreadCount.Use(threads)) ConvReluMaxPoolSingleChannel.BackwardWeights(g, pool, x, codes, dp, dw, db);
            results.Add((dw, db));
        }
        Assert.Equal(results[0].Dw, results[1].Dw);
        Assert.Equal(results[0].Db, results[1].Db);
        float scale = 1 + dwRef.Concat(dbRef).Max(MathF.Abs);
        for (int i = 0; i < dwRef.Length; i++)
            Assert.True(MathF.Abs(results[0].Dw[i] - dwRef[i]) <= 1e-5f * scale, $"dw[{i}]: {results[0].Dw[i]} against {dwRef[i]}");
        for (int i = 0; i < dbRef.Length; i++)
            Assert.True(MathF.Abs(results[0].Db[i] - dbRef[i]) <= 1e-5f * scale, $"db[{i}]: {results[0].Db[i]} against {dbRef[i]}");
        Assert.Contains(dwRef, v => v != 1f);   // there was a gradient to agree on
        // Either alone: the same values as both together.
        var dwOnly = DwOnes();
        ConvReluMaxPoolSingleChannel.BackwardWeights(g, pool, x, codes, dp, dwOnly, default);
        Assert.Equal(results[0].Dw, dwOnly);
        var dbOnly = DbOnes();
        ConvReluMaxPoolSingleChannel.BackwardWeights(g, pool, x, codes, dp, default, dbOnly);
        Assert.Equal(results[0].Db, dbOnly);
    }

    // Each code names the window position of the general path's argmax where the gradient flows there
    // (pooled > 0), and is NoGradient (4) elsewhere and past each row's end.
    private static void AssertCodesName(in Conv2dGeometry g, in Pool2dGeometry pool, float[] pooled, int[] argmax, byte[] codes)
    {
        int ph = pool.OH, pw = pool.OW, ow = g.OW, cs = ConvReluMaxPoolSingleChannel.CodeStride(pw);
        int[] offsets = [0, 1, ow, ow + 1];
        for (int plane = 0; plane < g.N * g.OC; plane++)
            for (int i = 0; i < ph; i++)
                for (int j = 0; j < cs; j++)
                {
                    int code = codes[((long)plane * ph + i) * cs + j];
                    if (j >= pw) { Assert.Equal(4, code); continue; }
                    long at = ((long)plane * ph + i) * pw + j;
                    if (!(pooled[at] > 0)) { Assert.Equal(4, code); continue; }
                    Assert.InRange(code, 0, 3);
                    Assert.Equal(argmax[at], 2 * i * ow + 2 * j + offsets[code]);
                }
    }

    [Fact]
    public void Takes_only_the_geometry_it_was_written_for()
    {
        var pool = new Pool2dGeometry(2, 4, 8, 8, 2, 2, 2, 2, 0, 0, 1, 1, false);
        Assert.False(ConvReluMaxPoolSingleChannel.Supports(new Conv2dGeometry(2, 2, 8, 8, 4, 3, 3, 1, 1, 1, 1), pool));  // two input channels
        Assert.False(ConvReluMaxPoolSingleChannel.Supports(new Conv2dGeometry(2, 1, 10, 10, 4, 5, 5, 1, 1, 1, 1), pool)); // 5x5, padding 1
        Assert.False(ConvReluMaxPoolSingleChannel.Supports(new Conv2dGeometry(2, 1, 8, 8, 4, 3, 3, 1, 1, 2, 2), pool));   // 3x3, padding 2
        Assert.Equal(Avx512F.IsSupported, ConvReluMaxPoolSingleChannel.Supports(new Conv2dGeometry(2, 1, 8, 8, 4, 5, 5, 1, 1, 2, 2), pool));
        var conv = new Conv2dGeometry(2, 1, 8, 8, 4, 3, 3, 1, 1, 1, 1);
        Assert.False(ConvReluMaxPoolSingleChannel.Supports(conv, new Pool2dGeometry(2, 4, 8, 8, 3, 3, 2, 2, 1, 1, 1, 1, false)));
        Assert.False(ConvReluMaxPoolSingleChannel.Supports(conv, new Pool2dGeometry(2, 4, 8, 8, 2, 2, 1, 1, 0, 0, 1, 1, false)));
    }

    [Fact]
    public void Names_a_buffer_that_is_too_small()
    {
        var g = new Conv2dGeometry(2, 1, 8, 8, 4, 3, 3, 1, 1, 1, 1);
        var pool = new Pool2dGeometry(2, 4, 8, 8, 2, 2, 2, 2, 0, 0, 1, 1, false);
        var (x, w, b, y, dp) = (new float[128], new float[36], new float[4], new float[128], new float[128]);
        var codes = new byte[ConvReluMaxPoolSingleChannel.CodesLength(g, pool)];
        Assert.Equal(2 * 4 * 4 * 16, codes.Length);
        if (!Avx512F.IsSupported) return;
        var e = Assert.Throws<ArgumentException>(() => ConvReluMaxPoolSingleChannel.Forward(g, pool, x, w, b, true, y, new byte[codes.Length - 1]));
        Assert.Contains($"codes has {codes.Length - 1} bytes, needs {codes.Length}", e.Message);
        e = Assert.Throws<ArgumentException>(() => ConvReluMaxPoolSingleChannel.BackwardWeights(g, pool, x, codes, dp, new float[35], new float[4]));
        Assert.Contains("dw has 35 elements, needs 36", e.Message);
        e = Assert.Throws<ArgumentException>(() => ConvReluMaxPoolSingleChannel.BackwardWeights(g, pool, x, codes, dp, new float[36], new float[3]));
        Assert.Contains("db has 3 elements, needs 4", e.Message);
        e = Assert.Throws<ArgumentException>(() =>
            ConvReluMaxPoolSingleChannel.BackwardWeights(g, pool, x, codes, new float[127], new float[36], new float[4]));
        Assert.Contains("d pooled has 127 elements, needs 128", e.Message);
        var twoChannels = new Conv2dGeometry(2, 2, 8, 8, 4, 3, 3, 1, 1, 1, 1);
        e = Assert.Throws<ArgumentException>(() =>
            ConvReluMaxPoolSingleChannel.Forward(twoChannels, pool, new float[256], new float[72], b, true, y, codes));
        Assert.Contains("does not take", e.Message);
    }

    private static int[] BitsOf(float[] v) => Array.ConvertAll(v, BitConverter.SingleToInt32Bits);
}
