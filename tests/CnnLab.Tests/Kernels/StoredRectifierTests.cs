using System.Runtime.Intrinsics.X86;
using CnnLab.Kernels;
using CnnLab.Nn;
using Xunit;

namespace CnnLab.Tests.Kernels;

/// <summary>
/// A leaky ReLU stored by the convolution's own kernels (<see cref="Rectifier"/>, <see cref="Conv2dKernel.ForwardCached"/>'s
/// <c>stored</c>) against the same activation's block pass after the convolution, and against the plain reference then the
/// layer's lanes: the same bits, for one thread and two, slopes above, at and below zero, NaN, ±∞ and −0 among the inputs.
/// Shapes: the channel-blocked kernel's pairs of 16 outputs (a 32x32 plane, whose rows go through a tile), its single block,
/// its runs of 16 pixels, the output-row kernel; kernels that store no leaky ReLU fall back to the block pass.
/// </summary>
public class StoredRectifierTests
{
    public static TheoryData<Conv2dGeometry, ConvAlgorithm, float> Cases()
    {
        var data = new TheoryData<Conv2dGeometry, ConvAlgorithm, float>();
        foreach (float slope in new[] { 0.1f, 0f, -0.3f })
        {
            data.Add(new Conv2dGeometry(3, 32, 15, 17, 64, 3, 3, SH: 2, SW: 2, PH: 1, PW: 1), ConvAlgorithm.ChannelBlocked, slope); // pairs
            data.Add(new Conv2dGeometry(2, 3, 32, 32, 32, 3, 3, PH: 1, PW: 1), ConvAlgorithm.ChannelBlocked, slope);  // 1,024 pixels: a tile
            data.Add(new Conv2dGeometry(2, 5, 7, 41, 16, 3, 3, PH: 1, PW: 1), ConvAlgorithm.ChannelBlocked, slope);   // runs, then blocks
            data.Add(new Conv2dGeometry(2, 8, 11, 9, 48, 3, 3, SH: 2, SW: 2), ConvAlgorithm.ChannelBlocked, slope);   // a pair, then a block
            data.Add(new Conv2dGeometry(3, 3, 32, 32, 32, 5, 5, PH: 2, PW: 2), ConvAlgorithm.OutputRows, slope);      // all-conv's first layer
            data.Add(new Conv2dGeometry(2, 6, 10, 21, 12, 3, 3, PH: 1, PW: 1), ConvAlgorithm.OutputRows, slope);      // 12 outputs, rows of 21
            data.Add(new Conv2dGeometry(2, 16, 10, 10, 32, 3, 3, PH: 1, PW: 1), ConvAlgorithm.Winograd4x4, slope);    // no store: block pass
            data.Add(new Conv2dGeometry(2, 16, 9, 9, 24, 1, 1), ConvAlgorithm.Im2ColGemm, slope);                     // no store: block pass
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_stored_leaky_relu_is_the_layer_after_the_convolution_bit_for_bit(Conv2dGeometry g, ConvAlgorithm algorithm, float slope)
    {
        if (!Avx512F.IsSupported) return; // the direct kernels are AVX-512 only
        // Winograd's transforms spread an infinity over its tile (as NaN): the special values only where the sums are direct.
        var x = OutputRowConvTests.Values(g.N * g.C * g.H * g.W, 5, special: algorithm != ConvAlgorithm.Winograd4x4);
        for (int i = 0; i < x.Length; i += 17) x[i] = 0f;
        var w = OutputRowConvTests.Values(g.OC * g.ColRows, 6);
        var b = OutputRowConvTests.Values(g.OC, 7);
        var block = BlockActivations.For(new LeakyReLU(slope))!;
        bool stores = algorithm is ConvAlgorithm.ChannelBlocked or ConvAlgorithm.OutputRows;
        using (var plan = new ConvForwardPlan(g, w, algorithm)) Assert.Equal(stores, plan.StoresLeaky);

        var expected = new float[g.N * g.OC * g.ColCols];
        Conv2dKernel.ForwardCached(g, x, w, b, true, expected, false, default, default, null, algorithm, block);
        var layer = new float[expected.Length];
        Conv2dReference.Forward(g, x, w, b, true, layer);
        ElementwiseLoop.MapOnThisThread(new LeakyReluForward(slope), layer, layer);
        // The reference sums in another order (NaN and ±∞ come out the same in any order); the layer's lanes are the same on both.
        for (int i = 0; i < layer.Length; i++)
            if (float.IsFinite(layer[i])) Assert.Equal(layer[i], expected[i], 1e-4f * MathF.Max(1f, MathF.Abs(layer[i])));
            else Assert.Equal(layer[i], expected[i]);
        foreach (int threads in new[] { 1, 2 })
        {
            var y = new float[expected.Length + 16];
            y.AsSpan(expected.Length).Fill(1234.5f); // sentinels: nothing is written past the output
            // Where the kernels store it, the block pass must not run at all.
            Conv2dKernel.BlockActivation blockOrNot = stores ? (_, _, _) => throw new InvalidOperationException("the block pass ran") : block;
            using (ThreadCount.Use(threads))
                Conv2dKernel.ForwardCached(g, x, w, b, true, y, false, default, default, null, algorithm, blockOrNot, stored: Rectifier.Leaky(slope));
            Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), y.Take(expected.Length).Select(BitConverter.SingleToInt32Bits));
            Assert.All(y.Skip(expected.Length), v => Assert.Equal(1234.5f, v));
        }
    }

    [Fact]
    public void Only_a_leaky_relu_standing_for_its_block_activation_is_stored()
    {
        var g = new Conv2dGeometry(1, 3, 8, 8, 16, 3, 3, PH: 1, PW: 1);
        var (x, w, y) = (new float[3 * 64], new float[16 * 27], new float[16 * 64]);
        var block = BlockActivations.For(new LeakyReLU(0.1f))!;
        Assert.Throws<ArgumentException>(() => Conv2dKernel.ForwardCached(g, x, w, default, false, y, false, default, default, null,
            ConvAlgorithm.Auto, activation: null, stored: Rectifier.Leaky(0.1f)));
        Assert.Throws<ArgumentException>(() => Conv2dKernel.ForwardCached(g, x, w, default, false, y, false, default, default, null,
            ConvAlgorithm.Auto, block, stored: Rectifier.Relu));
        using var plan = new ConvForwardPlan(g, w, ConvAlgorithm.Im2ColGemm);
        using var workspace = plan.Rent();
        Assert.Throws<ArgumentException>(() => { unsafe { plan.Run(workspace, x, 1, null, Rectifier.Leaky(0.1f), y); } });
        Assert.Equal(Rectifier.Leaky(0.5f).ToString(), BlockActivations.Stored(new LeakyReLU(0.5f)).ToString());
        Assert.True(BlockActivations.Stored(new ELU(1f)).IsNone);
        Assert.True(BlockActivations.Stored(new ReLU()).IsNone); // ReLU has its own fused ops
    }
}
