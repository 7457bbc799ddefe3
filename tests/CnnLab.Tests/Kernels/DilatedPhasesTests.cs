using System.Runtime.Intrinsics.X86;
using CnnLab.Kernels;
using CnnLab.Nn;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// A dilated convolution of stride 1 run as an ordinary one on its phase planes (<see cref="DilatedPhases"/>): the planner's
/// choice, the phases split and merged back, and every pass against <see cref="Conv2dReference"/> and the dilated kernels
/// pinned (db bit for bit), on 1 and 2 threads (the same bits), for dilation 2 and 3, unequal dilations, a 5x5 kernel, groups and
/// a single image, and a finite-difference check through autograd.
/// </summary>
public class DilatedPhasesTests
{
    private static readonly Conv2dGeometry[] ShapeList =
    [
        new Conv2dGeometry(3, 32, 12, 16, 36, 3, 3, PH: 2, PW: 2, DH: 2, DW: 2),   // four 6x8 phases
        new Conv2dGeometry(2, 33, 12, 9, 32, 3, 3, PH: 3, PW: 3, DH: 3, DW: 3),    // nine 4x3 phases
        new Conv2dGeometry(3, 32, 10, 14, 32, 3, 3, PH: 2, PW: 1, DH: 2, DW: 1),   // rows in two phases, columns in one
        new Conv2dGeometry(2, 32, 16, 12, 32, 5, 5, PH: 4, PW: 4, DH: 2, DW: 2),   // 5x5: F(2x2, 5x5) on 8x6 phases
        new Conv2dGeometry(2, 32, 32, 32, 48, 3, 3, PH: 2, PW: 2, DH: 2, DW: 2, G: 2), // groups of 16→24 on 16x16 phases
        new Conv2dGeometry(1, 32, 12, 14, 32, 3, 3, PH: 2, PW: 2, DH: 2, DW: 2),   // a single image
    ];

    public static TheoryData<Conv2dGeometry> Shapes
    {
        get
        {
            var data = new TheoryData<Conv2dGeometry>();
            foreach (var g in ShapeList) data.Add(g);
            return data;
        }
    }

    private static float[] Values(long n, long seed) => ConvPassChecks.Values(n, seed);

    [Fact]
    public void The_planner_takes_phases_where_the_ordinary_convolution_runs_as_Winograd()
    {
        if (!Avx512F.IsSupported) return;
        var g = new Conv2dGeometry(128, 48, 16, 16, 48, 3, 3, PH: 2, PW: 2, DH: 2, DW: 2);
        Assert.Equal(new Conv2dGeometry(512, 48, 8, 8, 48, 3, 3, PH: 1, PW: 1), ConvPlanner.DilationPhases(g));
        Assert.Null(ConvPlanner.DilationPhases(g, ConvAlgorithm.ChannelBlocked));        // pinned
        Assert.Equal(new Conv2dGeometry(4, 48, 8, 8, 48, 3, 3, PH: 1, PW: 1), ConvPlanner.DilationPhases(g with { N = 1 })); // one image
        Assert.Null(ConvPlanner.DilationPhases(g with { H = 15 }));                      // a side not a multiple of the dilation
        Assert.Null(ConvPlanner.DilationPhases(g with { PH = 1, PW = 1 }));              // nor the padding
        Assert.Null(ConvPlanner.DilationPhases(g with { SH = 2, SW = 2 }));              // strided
        Assert.Null(ConvPlanner.DilationPhases(g with { C = 16, OC = 16 }));             // too few channels to pay for the phases
        Assert.Null(ConvPlanner.DilationPhases(g with { C = 64, OC = 64, G = 2 }));      // groups on phase planes of 8x8
        var grouped = g with { C = 64, OC = 64, G = 4, H = 32, W = 32 };                 // groups of 16 on 16x16 phase planes
        Assert.Equal(new Conv2dGeometry(512, 64, 16, 16, 64, 3, 3, PH: 1, PW: 1, G: 4), ConvPlanner.DilationPhases(grouped));
        Assert.Null(ConvPlanner.DilationPhases(grouped with { G = 8 }));                 // groups of 8
        Assert.Null(ConvPlanner.DilationPhases(grouped with { H = 30, W = 30 }));        // phase planes of 15x15
        Assert.Null(ConvPlanner.DilationPhases(g with { DH = 1, DW = 1, PH = 1, PW = 1 })); // not dilated
    }

    [Fact]
    public void Takes_dW_in_phases_where_the_ordinary_convolutions_is_a_Winograd_one()
    {
        if (!Avx512F.IsSupported) return;
        var inPhases = ShapeList.Where(g => ConvPlanner.PhaseWeightGradient(ConvPlanner.DilationPhases(g)!.Value)).ToList();
        Assert.NotEmpty(inPhases);   // so the backward test below runs dW in phases too
        Assert.Contains(new Conv2dGeometry(2, 32, 32, 32, 48, 3, 3, PH: 2, PW: 2, DH: 2, DW: 2, G: 2), inPhases);
        Assert.True(ConvPlanner.PhaseWeightGradient(new Conv2dGeometry(512, 48, 8, 8, 48, 3, 3, PH: 1, PW: 1)));
        Assert.False(ConvPlanner.PhaseWeightGradient(new Conv2dGeometry(512, 48, 8, 8, 48, 3, 3, PH: 1, PW: 1, DH: 2, DW: 2)));
    }

    [Theory]
    [InlineData(2, 2)]
    [InlineData(3, 1)]
    [InlineData(1, 2)]
    [InlineData(2, 3)]
    public unsafe void Phases_split_and_merge_back(int dh, int dw)
    {
        int images = 2, channels = 3, h = 6 * dh, w = 5 * dw;
        var planes = Values(images * channels * h * w, 1);
        var phases = new float[planes.Length];
        var back = Values(planes.Length, 2);
        var start = (float[])back.Clone();
        fixed (float* pp = planes, pq = phases, pb = back)
        {
            DilatedPhases.Split(pp, images, channels, h, w, dh, dw, pq);
            int ph = h / dh, pw = w / dw;
            for (int n = 0; n < images; n++)
                for (int r = 0; r < dh; r++)
                    for (int s = 0; s < dw; s++)
                        for (int c = 0; c < channels; c++)
                            for (int a = 0; a < ph; a++)
                                for (int b = 0; b < pw; b++)
                                    Assert.Equal(planes[((n * channels + c) * h + a * dh + r) * w + b * dw + s],
                                        phases[(((n * dh * dw + r * dw + s) * channels + c) * ph + a) * pw + b]);
            DilatedPhases.Merge(pq, images, channels, h, w, dh, dw, pb, add: true);
            for (int i = 0; i < planes.Length; i++) Assert.Equal(start[i] + planes[i], back[i]);
            DilatedPhases.Merge(pq, images, channels, h, w, dh, dw, pb, add: false);
        }
        Assert.Equal(planes, back);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Forward_matches_the_reference_and_not_the_thread_count(Conv2dGeometry g)
    {
        if (!Avx512F.IsSupported) return;
        Assert.NotNull(ConvPlanner.DilationPhases(g));
        ConvPassChecks.ForwardMatchesTheReference(g, ConvAlgorithm.Auto);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Backward_matches_the_reference_and_not_the_thread_count(Conv2dGeometry g)
    {
        if (!Avx512F.IsSupported) return;
        ConvPassChecks.BackwardMatchesTheReference(g, ConvAlgorithm.Auto);
    }

    [Fact]
    public void A_dilated_layer_in_phases_passes_the_finite_difference_check()
    {
        if (!Avx512F.IsSupported) return;
        var gen = new Generator(12);
        var conv = new Conv2d(32, 32, 3, padding: 2, dilation: 2, generator: gen);
        var x = Tensor.Randn(gen, 2, 32, 6, 8);
        Assert.NotNull(ConvPlanner.DilationPhases(new Conv2dGeometry(2, 32, 6, 8, 32, 3, 3, PH: 2, PW: 2, DH: 2, DW: 2)));
        GradCheck.Check(t => Functional.Conv2d(t[0], t[1], t[2], padding: 2, dilation: 2),
            [x, conv.Weight.Detach().Clone(), conv.Bias!.Detach().Clone()], what: "dilated conv2d in phases");
    }
}
