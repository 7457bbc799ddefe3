using CnnLab.Kernels;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// The 2x2 stride-2 max-pool fast path (AVX-512 where available) against the scalar general loop, bit
/// for bit in values and argmax indices: ties (small integers), NaN, ±Inf and −0, odd sizes, rows wider
/// and narrower than one vector, at 1 and 2 threads.
/// </summary>
public class MaxPool2dFastPathTests
{
    // Small integers, ±Inf and −0; NaN (two kinds) too unless withoutNaN: nearly every group of 16 windows then
    // holds one, so the NaN-free data is what takes the fast path's max-and-compare route.
    private static float[] TieHeavyValues(int n, long seed, bool withoutNaN = false)
    {
        var r = new Generator(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++)
        {
            int k = r.NextInt(40);
            if (withoutNaN && (k == 0 || k == 4)) k = 3;
            v[i] = k switch
            {
                0 => float.NaN,
                1 => float.NegativeInfinity,
                2 => float.PositiveInfinity,
                3 => -0f,
                4 => BitConverter.Int32BitsToSingle(unchecked((int)0xFFC00001)), // a NaN with another payload and sign
                _ => r.NextInt(5) - 2,
            };
        }
        return v;
    }

    public static TheoryData<int, int, int, int> Sizes => new()
    {
        // N, C, H, W
        { 3, 5, 7, 9 },
        { 3, 5, 28, 28 },
        { 3, 5, 14, 14 },
        { 2, 3, 1, 1 },
        { 2, 3, 3, 2 },
        { 2, 3, 2, 3 },
        { 2, 2, 5, 64 },   // two full vectors per row
        { 2, 2, 6, 71 },   // full vectors and a partial one, odd width
        { 1, 1, 2, 32 },   // a single plane: the last group cannot read past x
        { 1, 1, 4, 30 },   // a partial group in the last row of the last plane
        { 16, 9, 8, 34 },  // enough planes for two threads
        { 4, 3, 10, 10 },  // lenet5's conv2 output: two output rows per vector
        { 2, 3, 9, 10 },   // odd height: two row pairs, the last input row unused
        { 2, 2, 6, 7 },    // odd width: three outputs a row, the last column unused
        { 1, 1, 4, 10 },   // a row pair whose loads would pass the end of x: one row at a time
        { 2, 3, 16, 16 },  // vgg-bn's 16x16 → 8x8: two output rows fill a vector, each input row a vector of its own
        { 2, 3, 12, 15 },  // odd width above 10: seven outputs a row, two rows per vector
        { 2, 2, 11, 13 },  // odd height and width above 10
        { 1, 1, 4, 16 },   // the last row pair's loads of rows 2i + 2 and 2i + 3 would pass the end of x
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Fast_2x2_path_matches_the_general_loop_bit_for_bit(int n, int c, int h, int w)
    {
        var g = new Pool2dGeometry(n, c, h, w, 2, 2, 2, 2, 0, 0, 1, 1, false);
        int outs = n * c * g.OH * g.OW;
        for (long seed = 1; seed <= 6; seed++)
        {
            var x = TieHeavyValues(n * c * h * w, seed * 100 + h * w, withoutNaN: seed > 3);
            var yRef = new float[outs];
            var idxRef = new int[outs];
            MaxPool2dKernel.ForwardReference(g, x, yRef, idxRef);
            foreach (int threads in new[] { 1, 2 })
            {
                using (Parallelism.UseThreads(threads))
                {
                    var y = new float[outs];
                    var idx = new int[outs];
                    MaxPool2dKernel.Forward(g, x, y, idx);
                    Assert.Equal(idxRef, idx);
                    for (int i = 0; i < outs; i++)
                        Assert.True(BitConverter.SingleToInt32Bits(yRef[i]) == BitConverter.SingleToInt32Bits(y[i]),
                            $"output {i}: {yRef[i]} vs {y[i]} at {threads} thread(s)");
                    // Inference's values alone (no compares for where each came from): the same bits.
                    var values = new float[outs];
                    MaxPool2dKernel.ForwardValues(g, x, values);
                    Assert.Equal(yRef.Select(BitConverter.SingleToInt32Bits), values.Select(BitConverter.SingleToInt32Bits));
                }
            }
        }
    }

    // Windows of every kind the gathered path takes: 1 to 5 taps, strides 1 to 3, padding up to half the window,
    // dilation 1 or 2, ceil mode, rows narrower and wider than 16 outputs.
    public static TheoryData<int> GeneralSeeds => new() { 1, 2, 3, 4, 5, 6, 7, 8 };

    [Theory]
    [MemberData(nameof(GeneralSeeds))]
    public void Gathered_general_path_matches_the_scalar_loop_bit_for_bit(int seed)
    {
        var r = new Generator(seed);
        for (int made = 0; made < 20;)
        {
            int kh = 1 + r.NextInt(5), kw = 1 + r.NextInt(5), dh = 1 + r.NextInt(2), dw = 1 + r.NextInt(2);
            var g = new Pool2dGeometry(1 + r.NextInt(2), 1 + r.NextInt(3), 1 + r.NextInt(20), 1 + r.NextInt(45), kh, kw,
                1 + r.NextInt(3), 1 + r.NextInt(3), r.NextInt(kh / 2 + 1), r.NextInt(kw / 2 + 1), dh, dw, r.NextInt(2) == 1);
            if (g.OH < 1 || g.OW < 1) continue;
            made++;
            var x = TieHeavyValues(g.N * g.C * g.H * g.W, seed * 100 + made, withoutNaN: made % 2 == 0);
            int outputs = g.N * g.C * g.OH * g.OW;
            float[] y = new float[outputs], yRef = new float[outputs];
            int[] at = new int[outputs], atRef = new int[outputs];
            MaxPool2dKernel.Forward(g, x, y, at);
            MaxPool2dKernel.ForwardReference(g, x, yRef, atRef);
            Assert.True(atRef.SequenceEqual(at), $"{g}: indices {string.Join(",", at.Take(8))} vs {string.Join(",", atRef.Take(8))}");
            for (int i = 0; i < outputs; i++)
                Assert.True(BitConverter.SingleToInt32Bits(yRef[i]) == BitConverter.SingleToInt32Bits(y[i]),
                    $"{g}: output {i} is {y[i]}, reference {yRef[i]}");
        }
    }

    public static TheoryData<int, int, int, int, bool> RowSizes => new()
    {
        { 1, 64, 14, 14, false },  // avgpool-gelu-tanh's second pool at batch 1
        { 1, 32, 32, 32, false },  // stem-7x7-5x5's pool: two vectors a row, 16 outputs
        { 2, 3, 15, 17, false },   // odd sides: the last window's right tap and bottom row in the padding
        { 2, 3, 15, 17, true },    // ceil mode where it gives the floor's size
        { 2, 3, 16, 16, true },    // ceil mode with one more row: not this path
        { 1, 5, 1, 1, false },     // one pixel
        { 2, 4, 2, 31, false },
        { 3, 2, 9, 33, false },    // wider than 32: not this path
    };

    // The 3x3 stride-2 padding-1 pool read row by row: bit for bit the scalar loop's values and indices, ties, ±0 and ±∞
    // included, and a plane with a NaN pooled by the general loop, for 1 and 2 threads.
    [Theory]
    [MemberData(nameof(RowSizes))]
    public void A_3x3_stride_2_pool_read_by_rows_matches_the_scalar_loop_bit_for_bit_with_and_without_indices(int n, int c, int h, int w, bool ceil)
    {
        var g = new Pool2dGeometry(n, c, h, w, 3, 3, 2, 2, 1, 1, 1, 1, ceil);
        int outputs = n * c * g.OH * g.OW;
        for (long seed = 1; seed <= 4; seed++)
        {
            var x = TieHeavyValues(n * c * h * w, seed * 10 + h, withoutNaN: true);
            if (seed > 2) x[(int)(seed * 7919 % x.Length)] = float.NaN;   // one plane with a NaN, the others without
            if (seed == 2) x.AsSpan(0, h * w).Fill(float.NegativeInfinity);   // every window ties: its first tap in the plane
            var (yRef, atRef) = (new float[outputs], new int[outputs]);
            MaxPool2dKernel.ForwardReference(g, x, yRef, atRef);
            foreach (int threads in new[] { 1, 2 })
            {
                var y = new float[outputs];
                using (ThreadCount.Use(threads)) MaxPool2dKernel.ForwardValues(g, x, y);
                Assert.True(yRef.Select(BitConverter.SingleToInt32Bits).SequenceEqual(y.Select(BitConverter.SingleToInt32Bits)),
                    $"{g}, seed {seed}, {threads} threads: values differ");
                // Training's forward: the same values, and the index of each maximum's first tap.
                var (yi, at) = (new float[outputs], new int[outputs]);
                using (ThreadCount.Use(threads)) MaxPool2dKernel.Forward(g, x, yi, at);
                Assert.True(yRef.Select(BitConverter.SingleToInt32Bits).SequenceEqual(yi.Select(BitConverter.SingleToInt32Bits)),
                    $"{g}, seed {seed}, {threads} threads: values with indices differ");
                Assert.True(atRef.SequenceEqual(at), $"{g}, seed {seed}, {threads} threads: indices differ");
            }
        }
    }

    // Many planes, rows narrower and wider than a vector: the 16-planes-at-once path, then the rest one at a time (gathered),
    // for 1 and 2 threads.
    [Theory]
    [MemberData(nameof(GeneralSeeds))]
    public void Sixteen_planes_at_once_match_the_scalar_loop_bit_for_bit(int seed)
    {
        var r = new Generator(seed + 50);
        for (int made = 0; made < 8;)
        {
            int kh = 1 + r.NextInt(4), kw = 1 + r.NextInt(4), dh = 1 + r.NextInt(2), dw = 1 + r.NextInt(2);
            var g = new Pool2dGeometry(1 + r.NextInt(3), 5 + r.NextInt(20), 1 + r.NextInt(16), 1 + r.NextInt(48), kh, kw,
                1 + r.NextInt(3), 1 + r.NextInt(3), r.NextInt(kh / 2 + 1), r.NextInt(kw / 2 + 1), dh, dw, r.NextInt(2) == 1);
            if (g.OH < 1 || g.OW < 1) continue;
            made++;
            var x = TieHeavyValues(g.N * g.C * g.H * g.W, seed * 1000 + made, withoutNaN: made % 2 == 0);
            int outputs = g.N * g.C * g.OH * g.OW;
            float[] yRef = new float[outputs];
            int[] atRef = new int[outputs];
            MaxPool2dKernel.ForwardReference(g, x, yRef, atRef);
            foreach (int threads in new[] { 1, 2 })
            {
                float[] y = new float[outputs];
                int[] at = new int[outputs];
                using (ThreadCount.Use(threads)) MaxPool2dKernel.Forward(g, x, y, at);
                Assert.True(atRef.SequenceEqual(at), $"{g}: indices differ");
                Assert.True(yRef.Select(BitConverter.SingleToInt32Bits).SequenceEqual(y.Select(BitConverter.SingleToInt32Bits)),
                    $"{g}: values differ");
                // Inference's values-only forward (no indices written where the blocks run): the same bits.
                var values = new float[outputs];
                using (ThreadCount.Use(threads)) MaxPool2dKernel.ForwardValues(g, x, values);
                Assert.True(yRef.Select(BitConverter.SingleToInt32Bits).SequenceEqual(values.Select(BitConverter.SingleToInt32Bits)),
                    $"{g}: values-only forward differs");
            }
        }
    }

    [Fact]
    public void Fast_2x2_path_picks_the_first_maximum_and_the_first_NaN_in_every_lane()
    {
        float nan = float.NaN, inf = float.PositiveInfinity, ninf = float.NegativeInfinity;
        float[][] windows =
        [
            [1, 1, 1, 1], [0, 2, 2, 2], [0, 0, 3, 3], [0, 0, 0, 4],
            [nan, 5, 6, 7], [5, nan, nan, 7], [5, 6, nan, nan], [5, 6, 7, nan],
            [ninf, ninf, ninf, ninf], [inf, inf, 1, 1], [-0f, 0f, 0f, -0f], [0f, -0f, -0f, 0f],
            [ninf, nan, inf, 1], [1, 2, inf, nan], [-1, -2, -3, -4], [-4, -3, -2, -1],
        ];
        AssertPoolsWindows(windows, [0, 1, 2, 3, 0, 1, 2, 3, 0, 0, 0, 0, 1, 3, 0, 3]);
    }

    [Fact]
    public void Without_a_NaN_the_fast_path_keeps_the_first_maximum_and_its_sign_of_zero()
    {
        // No NaN in the vector: the max-and-compare route, where vmaxps must keep the earlier of two equal taps.
        float inf = float.PositiveInfinity, ninf = float.NegativeInfinity;
        float[][] windows =
        [
            [1, 1, 1, 1], [0, 2, 2, 2], [0, 0, 3, 3], [0, 0, 0, 4],
            [-0f, 0f, 0f, -0f], [0f, -0f, -0f, 0f], [-0f, -0f, 0f, 0f], [-1, 0f, -0f, -2],
            [ninf, ninf, ninf, ninf], [inf, inf, 1, 1], [1, 2, inf, inf], [ninf, -5, ninf, -5],
            [-1, -2, -3, -4], [-4, -3, -2, -1], [2, -1, 2, 3], [3, 3, -0f, 3],
        ];
        AssertPoolsWindows(windows, [0, 1, 2, 3, 0, 0, 0, 1, 0, 0, 2, 1, 0, 3, 3, 0]);
    }

    // One row pair of 16 windows (a full vector), window j's taps in scan order from windows[j]: each output
    // must be its expected tap (0 top left … 3 bottom right), value and index.
    private static void AssertPoolsWindows(float[][] windows, int[] expectedTap)
    {
        int w = 32;
        var x = new float[2 * w];
        for (int j = 0; j < 16; j++)
        {
            x[2 * j] = windows[j][0];
            x[2 * j + 1] = windows[j][1];
            x[w + 2 * j] = windows[j][2];
            x[w + 2 * j + 1] = windows[j][3];
        }
        var g = new Pool2dGeometry(1, 1, 2, w, 2, 2, 2, 2, 0, 0, 1, 1, false);
        var (y, idx) = (new float[16], new int[16]);
        MaxPool2dKernel.Forward(g, x, y, idx);
        for (int j = 0; j < 16; j++)
        {
            int tap = expectedTap[j];
            int at = (tap >= 2 ? w : 0) + 2 * j + (tap & 1);
            Assert.Equal(at, idx[j]);
            Assert.Equal(BitConverter.SingleToInt32Bits(x[at]), BitConverter.SingleToInt32Bits(y[j]));
        }
        var values = new float[16];
        MaxPool2dKernel.ForwardValues(g, x, values);
        Assert.Equal(y.Select(BitConverter.SingleToInt32Bits), values.Select(BitConverter.SingleToInt32Bits));
    }

    [Theory]
    [InlineData(2, 2, 2, 2)]
    [InlineData(3, 3, 3, 3)]
    public void On_this_thread_matches_the_parallel_forward_bit_for_bit(int kh, int kw, int sh, int sw)
    {
        var g = new Pool2dGeometry(3, 5, 14, 13, kh, kw, sh, sw, 0, 0, 1, 1, false);
        var x = TieHeavyValues(g.N * g.C * g.H * g.W, 8);
        int outputs = g.N * g.C * g.OH * g.OW;
        var (y, idx, y1, idx1) = (new float[outputs], new int[outputs], new float[outputs], new int[outputs]);
        MaxPool2dKernel.Forward(g, x, y, idx);
        MaxPool2dKernel.ForwardOnThisThread(g, x, y1, idx1);
        Assert.Equal(y.Select(BitConverter.SingleToInt32Bits), y1.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(idx, idx1);
        Assert.Throws<ArgumentException>(() => MaxPool2dKernel.ForwardOnThisThread(g, x.AsSpan(1), y1, idx1));
    }

    [Theory]
    [InlineData(2, 2, 2, 0)]  // whole 2x2 windows
    [InlineData(3, 3, 2, 1)]  // 16 planes at once
    public void A_fused_convolution_and_pool_without_indices_gives_the_same_values(int k, int kernel, int stride, int padding)
    {
        // Inference: no argmax asked for, so none is written; the values must be those of the forward that keeps them.
        var g = new Conv2dGeometry(3, 5, 18, 17, 32, k, k, 1, 1, 1, 1);
        var pool = new Pool2dGeometry(3, 32, g.OH, g.OW, kernel, kernel, stride, stride, padding, padding, 1, 1, false);
        var gen = new Generator(11);
        var (x, w, b) = (new float[3 * 5 * 18 * 17], new float[32 * 5 * k * k], new float[32]);
        gen.FillNormal(x, 0, 1);
        gen.FillNormal(w, 0, 1);
        gen.FillNormal(b, 0, 1);
        int outputs = 3 * 32 * pool.OH * pool.OW;
        var (y, idx, values) = (new float[outputs], new int[outputs], new float[outputs]);
        ConvReluMaxPoolKernel.Forward(g, pool, x, w, b, true, y, idx);
        ConvReluMaxPoolKernel.Forward(g, pool, x, w, b, true, values, default);
        Assert.Equal(y.Select(BitConverter.SingleToInt32Bits), values.Select(BitConverter.SingleToInt32Bits));
        Assert.Throws<ArgumentException>(() => ConvReluMaxPoolKernel.Forward(g, pool, x, w, b, true, values, idx.AsSpan(1)));
    }

    [Fact]
    public void A_fused_convolution_and_pool_allocates_the_same_for_any_batch()
    {
        // The fused kernel pools each image's block as it is made: nothing it allocates may grow with the batch
        // (a parallel loop per image allocated its delegate, ~170 bytes an image).
        long Allocated(int n)
        {
            var g = new Conv2dGeometry(n, 6, 14, 14, 16, 5, 5);
            var pool = new Pool2dGeometry(n, 16, 10, 10, 2, 2, 2, 2, 0, 0, 1, 1, false);
            var (x, w, b) = (new float[n * 6 * 196], new float[16 * 150], new float[16]);
            var (y, idx) = (new float[n * 16 * 25], new int[n * 16 * 25]);
            ConvReluMaxPoolKernel.Forward(g, pool, x, w, b, true, y, idx);
            long before = GC.GetAllocatedBytesForCurrentThread();
            ConvReluMaxPoolKernel.Forward(g, pool, x, w, b, true, y, idx);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        using (ThreadCount.Use(1))
            Assert.Equal(Allocated(4), Allocated(64));
    }
}
