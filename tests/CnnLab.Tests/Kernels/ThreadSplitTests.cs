using System.Runtime.Intrinsics.X86;
using CnnLab.Kernels;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// A single image's layer splits its own output channels among the threads (<see cref="ThreadSplit"/>): the direct kernels'
/// steps of output channels, Winograd's blocks of 8 (each share with its own M chunk; F(2x2, 3x3), F(4x4, 3x3) with its
/// tiny planes, F(2x2, 5x5), groups) and the weight rows' blocks give the same bits for one thread and two, forward and, where
/// a single image's dx runs the same kernels, backward; and the rule splits only work large enough, never inside a loop that
/// already runs on the threads.
/// </summary>
public class ThreadSplitTests
{
    public static TheoryData<Conv2dGeometry, ConvAlgorithm> Layers => new()
    {
        { new Conv2dGeometry(1, 32, 16, 16, 80, 3, 3, PH: 1, PW: 1), ConvAlgorithm.ChannelBlocked },              // 32, 32, 16 wide
        { new Conv2dGeometry(1, 32, 32, 32, 64, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1), ConvAlgorithm.ChannelBlocked }, // all-conv's
        { new Conv2dGeometry(1, 48, 9, 9, 36, 3, 3, PH: 1, PW: 1), ConvAlgorithm.ChannelBlocked },                 // padded last step
        { new Conv2dGeometry(1, 64, 14, 14, 128, 3, 3, PH: 1, PW: 1, G: 2), ConvAlgorithm.ChannelBlocked },        // two groups
        { new Conv2dGeometry(1, 3, 32, 32, 36, 5, 5, PH: 2, PW: 2), ConvAlgorithm.OutputRows },                    // a last block of 4
        { new Conv2dGeometry(1, 32, 32, 32, 48, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1), ConvAlgorithm.OutputRows },     // column phases
        { new Conv2dGeometry(1, 64, 32, 32, 24, 1, 1), ConvAlgorithm.OutputRows },                                 // pointwise
        { new Conv2dGeometry(1, 64, 28, 28, 124, 3, 3, PH: 1, PW: 1), ConvAlgorithm.Winograd4x4 },                 // a last block of 4
        { new Conv2dGeometry(1, 64, 16, 16, 64, 3, 3, PH: 1, PW: 1), ConvAlgorithm.Winograd },                     // F(2x2, 3x3)
        { new Conv2dGeometry(1, 32, 16, 16, 48, 5, 5, PH: 2, PW: 2), ConvAlgorithm.Winograd5x5 },
        { new Conv2dGeometry(1, 128, 8, 8, 128, 3, 3, PH: 1, PW: 1), ConvAlgorithm.Winograd4x4 },                  // 2x2 tiles
        { new Conv2dGeometry(1, 96, 30, 30, 64, 3, 3, PH: 1, PW: 1, G: 2), ConvAlgorithm.Winograd },               // groups, chunks
        { new Conv2dGeometry(1, 512, 2, 2, 130, 3, 3, PH: 1, PW: 1), ConvAlgorithm.WeightRows },                   // a last block of 2
    };

    // The items the kernel splits (a group's) and the multiply-adds of each.
    private static (int Items, long Work) Split(in Conv2dGeometry g, ConvAlgorithm algorithm)
    {
        if (algorithm == ConvAlgorithm.ChannelBlocked) return ((g.OCg + 31) / 32, 32L * g.ColCols * g.ColRows);
        if (algorithm == ConvAlgorithm.OutputRows) return ((g.OCg + 7) / 8, 8L * g.ColCols * g.ColRows);
        if (algorithm == ConvAlgorithm.WeightRows) return ((g.OCg + 3) / 4, 4L * ((g.ColRows + 15) / 16 * 16) * ((g.ColCols + 3) / 4 * 4));
        int side = algorithm == ConvAlgorithm.Winograd4x4 ? 4 : 2, positions = algorithm == ConvAlgorithm.Winograd ? 16 : 36;
        long tiles = (long)((g.H + side - 1) / side) * ((g.W + side - 1) / side);
        return ((g.OCg + 7) / 8, 8L * positions * g.Cg * tiles);
    }

    [Theory]
    [MemberData(nameof(Layers))]
    public void A_single_images_output_channels_on_two_threads_keep_their_bits(Conv2dGeometry g, ConvAlgorithm algorithm)
    {
        if (!Avx512F.IsSupported) return;   // both kernels need AVX-512
        var (items, work) = Split(g, algorithm);
        Assert.True(ThreadSplit.Pays(items, work, threads: 2, inParallelBody: false, out _), $"{g} is too small to split");
        var gen = new CnnLab.Tensors.Generator(g.OC + 3);
        float[] x = Values(gen, g.C * g.H * g.W), w = Values(gen, g.OC * g.ColRows), b = Values(gen, g.OC);
        var expected = new float[g.OC * g.ColCols];
        Conv2dReference.Forward(g, x, w, b, true, expected);
        int[]? first = null;
        foreach (int threads in new[] { 1, 2 })
            foreach (bool kept in new[] { false, true })
            {
                var y = new float[expected.Length + 16];
                y.AsSpan(expected.Length).Fill(1234.5f);
                using (ThreadCount.Use(threads))
                    Conv2dKernel.ForwardCached(g, x, w, b, true, y.AsSpan(0, expected.Length), false, default, default,
                        kept ? new CachedWeights(w, 0) : null, algorithm);
                Conv2dKernelTests.AssertClose(expected, y[..expected.Length], $"{algorithm} {g}, {threads} thread(s)", algorithm);
                Assert.All(y[expected.Length..], v => Assert.Equal(1234.5f, v));
                var bits = y[..expected.Length].Select(BitConverter.SingleToInt32Bits).ToArray();
                if (first is null) first = bits;
                else Assert.Equal(first, bits);
            }
    }

    [Theory]
    [InlineData(ConvAlgorithm.Winograd4x4)]   // dx by F(4x4, 3x3)'s products, added to what is there
    [InlineData(ConvAlgorithm.OutputRows)]    // dx as a forward of dy by output rows
    public void A_single_images_backward_on_two_threads_keeps_its_bits(ConvAlgorithm algorithm)
    {
        if (!Avx512F.IsSupported) return;
        var g = new Conv2dGeometry(1, 64, 32, 32, 64, 3, 3, PH: 1, PW: 1);
        Assert.Equal(algorithm, ConvPlanner.Plan(g, algorithm).InputGradient);
        var gen = new CnnLab.Tensors.Generator(17);
        float[] x = Values(gen, g.C * g.H * g.W), w = Values(gen, g.OC * g.ColRows), dy = Values(gen, g.OC * g.ColCols);
        float[]? first = null;
        foreach (int threads in new[] { 1, 2 })
        {
            float[] dx = new float[x.Length], dw = new float[w.Length], db = new float[g.OC];
            using (ThreadCount.Use(threads)) Conv2dKernel.Backward(g, x, w, dy, dx, dw, db, overwriteDx: true, algorithm: algorithm);
            float[] all = [.. dx, .. dw, .. db];
            if (first is null) first = all;
            else Assert.Equal(first.Select(BitConverter.SingleToInt32Bits), all.Select(BitConverter.SingleToInt32Bits));
        }
    }

    [Fact]
    public void Only_work_worth_a_thread_is_split_and_never_inside_a_parallel_loop()
    {
        Assert.False(ThreadSplit.Pays(100, 1 << 20, threads: 1, inParallelBody: false, out _));
        Assert.False(ThreadSplit.Pays(100, 1 << 20, threads: 2, inParallelBody: true, out _));
        Assert.True(ThreadSplit.Pays(2, ThreadSplit.MinWork, threads: 2, inParallelBody: false, out int one));
        Assert.Equal(1, one);
        Assert.False(ThreadSplit.Pays(3, ThreadSplit.MinWork / 2, threads: 2, inParallelBody: false, out int two));   // one chunk
        Assert.Equal(2, two);
        Assert.True(ThreadSplit.Pays(4, ThreadSplit.MinWork / 2, threads: 2, inParallelBody: false, out _));
        // The kernels ask with the calling thread's own mark, which a parallel loop's bodies carry.
        bool outer = Parallelism.EnterBody();
        try { Assert.False(ThreadSplit.Pays(100, 1 << 20, out _)); }
        finally { Parallelism.ExitBody(outer); }
    }

    private static float[] Values(CnnLab.Tensors.Generator gen, int n) => Kernels.ConvPlannerTests.Values(gen, n);
}
