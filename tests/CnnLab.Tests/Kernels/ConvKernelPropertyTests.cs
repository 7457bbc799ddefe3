using System.Runtime.Intrinsics.X86;
using CnnLab.Kernels;
using CnnLab.Tensors;
using CsCheck;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// Properties over random shapes (CsCheck: each run draws new ones after the first, and a failure prints the shape and the
/// seed that replays it): the channel-blocked kernel with any output count in one group (its last block padded), dilated
/// convolutions run in phases and the pixel GEMMs compute what <see cref="Conv2dReference"/> computes, forward, dx and dW, to
/// rounding.
/// </summary>
public class ConvKernelPropertyTests
{
    private static float[] Values(long n, long seed)
    {
        var r = new Generator(seed);
        var v = new float[n];
        for (long i = 0; i < n; i++) v[i] = (float)r.NextGaussian();
        return v;
    }

    // y, dx and dW of g by `algorithm` against the reference, each within 1e-4 of the reference's largest value.
    private static void MatchesTheReference(in Conv2dGeometry g, ConvAlgorithm algorithm, bool dx)
    {
        var x = Values(g.N * g.C * g.H * g.W, 1);
        var w = Values(g.OC * g.ColRows, 2);
        var b = Values(g.OC, 3);
        var dy = Values(g.N * g.OC * g.ColCols, 4);
        var (y, yRef) = (new float[dy.Length], new float[dy.Length]);
        Conv2dKernel.Forward(g, x, w, b, true, y, algorithm: algorithm);
        Conv2dReference.Forward(g, x, w, b, true, yRef);
        Close(yRef, y, g, "y");
        var (gx, gw, gb) = (dx ? new float[x.Length] : [], new float[w.Length], new float[g.OC]);
        var (rx, rw, rb) = (new float[x.Length], new float[w.Length], new float[g.OC]);
        Conv2dKernel.Backward(g, x, w, dy, gx, gw, gb, algorithm: algorithm);
        Conv2dReference.Backward(g, x, w, dy, rx, rw, rb);
        if (dx) Close(rx, gx, g, "dx");
        Close(rw, gw, g, "dW");
        Close(rb, gb, g, "db");
    }

    // MatchesTheReference for `iter` shapes drawn from `shapes`, all of them checked (none skipped by the sampler).
    private static void EveryShapeMatches(Gen<Conv2dGeometry> shapes, ConvAlgorithm algorithm, bool dx, int iter, string seed)
    {
        int checkedShapes = 0;
        shapes.Sample(g =>
        {
            MatchesTheReference(g, algorithm, dx);
            Interlocked.Increment(ref checkedShapes);
        }, iter: iter, seed: seed);
        Assert.True(checkedShapes >= iter, $"{checkedShapes} shapes checked");
    }

    private static void Close(float[] expected, float[] actual, in Conv2dGeometry g, string what)
    {
        float scale = Math.Max(1f, expected.Max(MathF.Abs));
        for (int i = 0; i < expected.Length; i++)
            if (!(MathF.Abs(expected[i] - actual[i]) <= 1e-4f * scale))
                Assert.Fail($"{what} of {g} at {i}: {actual[i]} against {expected[i]}");
    }

    [Fact]
    public void The_channel_blocked_kernel_with_any_output_count_matches_the_reference()
    {
        if (!Avx512F.IsSupported) return;
        var shapes = Gen.Select(Gen.Int[1, 3], Gen.Int[1, 10], Gen.Int[1, 12], Gen.Int[1, 12], Gen.Int[1, 40], Gen.Int[1, 5],
                Gen.Int[1, 2], Gen.Int[0, 2])
            .Select((n, c, h, w, oc, k, s, p) => new Conv2dGeometry(n, c, h, w, oc, k, k, s, s, p, p))
            .Where(g => g.H + 2 * g.PH >= g.KH && g.W + 2 * g.PW >= g.KW);   // the kernel fits the padded input, as conv2d checks
        EveryShapeMatches(shapes, ConvAlgorithm.ChannelBlocked, dx: false, iter: 60, seed: "0000000000010");
    }

    [Fact]
    public void Dilated_convolutions_in_phases_match_the_reference()
    {
        if (!Avx512F.IsSupported) return;
        var shapes = Gen.Select(Gen.Int[2, 3], Gen.Int[2, 3], Gen.Int[1, 4], Gen.Int[1, 4], Gen.Int[32, 36], Gen.Int[32, 36],
                Gen.OneOf(Gen.Const(3), Gen.Const(5)), Gen.Int[2, 3])
            .Select((n, d, a, b, c, oc, k, other) =>
            {
                int dw = other == 2 ? d : 1;   // sometimes dilated along the rows only
                return new Conv2dGeometry(n, c, d * (a + 1), dw * (b + 1), oc, k, k, PH: d * (k - 1) / 2, PW: dw * (k - 1) / 2,
                    DH: d, DW: dw);
            })
            .Where(g => ConvPlanner.DilationPhases(g) is not null);
        EveryShapeMatches(shapes, ConvAlgorithm.Auto, dx: true, iter: 25, seed: "0000000000011");
    }

    [Fact]
    public void Pixel_GEMMs_match_the_reference_on_any_kernel_stride_padding_and_dilation()
    {
        // Small planes, any kernel up to 5 (rectangular too), stride 1 to 3, padding up to 3 (past the kernel's reach as well),
        // dilation 1 or 2: the pairs inside the plane, and outputs or inputs with none.
        var shapes = Gen.Select(Gen.Int[1, 20], Gen.Int[1, 9], Gen.Int[1, 6], Gen.Int[1, 6], Gen.Int[1, 12], Gen.Int[1, 5], Gen.Int[1, 5],
                Gen.Int[0, 3 * 3 * 4 * 4 - 1])
            .Select((n, c, h, w, oc, kh, kw, rest) =>
            {
                int s = rest % 3 + 1, p = rest / 3 % 4, d = rest / 12 % 2 + 1, pw = rest / 24 % 4;
                return new Conv2dGeometry(n, c, h, w, oc, kh, kw, s, rest / 96 % 2 == 0 ? s : 1, p, pw, d, d);
            })
            .Where(g => g.H + 2 * g.PH >= g.DH * (g.KH - 1) + 1 && g.W + 2 * g.PW >= g.DW * (g.KW - 1) + 1);
        EveryShapeMatches(shapes, ConvAlgorithm.PixelGemm, dx: true, iter: 60, seed: "0000000000012");
    }
}
