using System.Runtime.Intrinsics.X86;
using CnnLab.Kernels;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// A dilated convolution's ReLU and 2x2 max pool taken from its four phases (<see cref="PooledPhases"/>): which pools fit, the
/// four-way maximum against <see cref="MaxPool2dKernel"/> on the merged plane (values and argmax, NaN, −0 and ties, rows with a
/// partial vector), and the fused op against the convolution in phases, the ReLU and the pool one after another
/// (<see cref="ConvReluFusionTests"/>).
/// </summary>
public class PooledPhasesTests
{
    [Fact]
    public void Fits_a_2x2_pool_at_stride_2_over_a_dilation_of_2()
    {
        var g = new Conv2dGeometry(2, 32, 16, 16, 32, 3, 3, PH: 2, PW: 2, DH: 2, DW: 2);
        var pool = new Pool2dGeometry(2, 32, 16, 16, 2, 2, 2, 2);
        Assert.True(PooledPhases.Fits(g, pool));
        Assert.False(PooledPhases.Fits(g with { DH = 3, DW = 3, PH = 3, PW = 3 }, pool with { H = 16, W = 16 }));   // dilation 3
        Assert.False(PooledPhases.Fits(g, pool with { KH = 3, KW = 3 }));                                           // a 3x3 window
        Assert.False(PooledPhases.Fits(g, pool with { SH = 1, SW = 1 }));                                           // stride 1
        Assert.False(PooledPhases.Fits(g, pool with { PH = 1, PW = 1 }));                                           // padded
    }

    [Theory]
    [InlineData(3, 4, 7)]    // rows of 7: one partial vector
    [InlineData(2, 3, 16)]   // one whole vector
    [InlineData(2, 2, 19)]   // a whole vector and 3 more
    public unsafe void Pools_the_phases_as_the_max_pool_pools_the_merged_plane(int channels, int oh2, int ow2)
    {
        int oh = 2 * oh2, ow = 2 * ow2, plane = oh2 * ow2;
        var gen = new Generator(7);
        var phases = new float[4 * channels * plane];
        gen.FillNormal(phases, 0, 1);
        // Few distinct values, so that windows tie; −0 beside +0; NaN in a few windows, at different taps.
        for (int i = 0; i < phases.Length; i++) phases[i] = MathF.Round(phases[i] * 2) / 2;
        for (int i = 0; i < phases.Length; i += 5) phases[i] = i % 2 == 0 ? -0f : 0f;
        phases[3] = float.NaN;
        phases[channels * plane + 1] = float.NaN;
        phases[3 * channels * plane + plane - 1] = float.NaN;
        var merged = new float[channels * oh * ow];
        fixed (float* pp = phases, pm = merged) DilatedPhases.Merge(pp, 1, channels, oh, ow, 2, 2, pm, add: false);
        var pool = new Pool2dGeometry(1, channels, oh, ow, 2, 2, 2, 2);
        var (expected, expectedAt) = (new float[channels * plane], new int[channels * plane]);
        MaxPool2dKernel.Forward(pool, merged, expected, expectedAt);
        var (pooled, at, values) = (new float[expected.Length], new int[expected.Length], new float[expected.Length]);
        fixed (float* pp = phases, py = pooled, pv = values)
        fixed (int* pa = at)
        {
            PooledPhases.PoolImage(pp, channels * plane, channels, oh2, ow2, ow, py, pa);
            PooledPhases.PoolImage(pp, channels * plane, channels, oh2, ow2, ow, pv, null);
        }
        Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), pooled.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(expectedAt, at);
        Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), values.Select(BitConverter.SingleToInt32Bits));
        Assert.Contains(expected, float.IsNaN);
    }

    [Fact]
    public void The_fused_op_takes_the_phases_for_the_shapes_its_bit_for_bit_test_runs()
    {
        if (!Avx512F.IsSupported) return;
        foreach (var g in ConvReluFusionTests.DilatedPhaseShapes)
        {
            var pool = new Pool2dGeometry(g.N, g.OC, g.OH, g.OW, 2, 2, 2, 2);
            Assert.NotNull(ConvPlanner.DilationPhases(g));
            Assert.True(PooledPhases.Fits(g, pool));
        }
    }
}
