using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend: x [N, 1, H, W] (one input channel), w [OC, 1, 3, 3], padding 1, stride 1, so y [N, OC, H, W];
// E and O the even and odd padded columns of a plane (Winograd3x3.SplitPadded): conv column 2j reads E[j], O[j],
// E[j + 1], column 2j + 1 reads O[j], E[j + 1], O[j + 1].

/// <summary>
/// y = act(conv3x3(x, w) + b) with one input channel and padding 1, computed directly:
/// the first layer of an image network where no pool follows at once (cnn-bn's, resnet-mini's stem: a batch
/// norm comes first), so <see cref="ConvReluMaxPoolSingleChannel"/> does not apply. The forward walks the
/// padded rows once with three conv rows open (as that kernel does) and stores each finished row, its even
/// and odd columns interleaved back by two permutes; each value is the GEMM path's sum in the GEMM path's
/// order (zero, the 9 taps by fused multiply-adds, + b, ReLU), so y is the im2col path's, bit for bit. That path
/// spends its time around a GEMM whose k is 9: writing and reading a [9, H·W] column matrix per image and
/// storing 8x48 tiles after 9 multiply-adds each; what is left here is mostly writing y (12.8 MB for cnn-bn's
/// first layer at batch 128). The weight gradient stays on im2col + dot products: a direct one measured no
/// faster, both being bound by reading dz (as large as y).
/// Written by hand: no .NET library has a convolution.
/// </summary>
/// <remarks>PyTorch: <c>F.conv2d(x, w, b, padding=1)</c> with one input channel.</remarks>
internal static unsafe class SingleChannelConv3x3
{
    /// <summary>One input channel, 3x3, padding 1, stride 1, and AVX-512.</summary>
    public static bool Supports(in Conv2dGeometry g) =>
        Avx512F.IsSupported && g is { C: 1, G: 1, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1 };

    /// <summary>Floats of the per-thread scratch (zero it once: each image writes only its inside).</summary>
    public static int ScratchLength(in Conv2dGeometry g) => Winograd3x3.ScratchLength(g.H, g.W);

    /// <summary>y [OC, H·W] = act(conv(x [H, W]) + bias) of one image (bias null: none).</summary>
    public static void ForwardImage(in Conv2dGeometry g, float* x, float* w, float* bias, bool relu, float* y, float* scratch)
    {
        Winograd3x3.SplitPadded(x, g.H, g.W, scratch, out var e, out var o, out int s);
        int plane = g.H * g.W;
        for (int oc = 0; oc < g.OC; oc++)
            ForwardPlane(e, o, s, w + 9 * oc, bias == null ? null : bias + oc, relu, g.H, g.W, y + (long)oc * plane);
    }

    // One output channel: down the padded rows r, conv row r − 2 takes its kernel row 2 and is stored, r − 1 its
    // row 1, r its row 0; 32 conv columns (16 even, 16 odd) at a time.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardPlane(float* e, float* o, int s, float* k, float* b, bool relu, int h, int w, float* y)
    {
        var k00 = Vector512.Create(k[0]); var k01 = Vector512.Create(k[1]); var k02 = Vector512.Create(k[2]);
        var k10 = Vector512.Create(k[3]); var k11 = Vector512.Create(k[4]); var k12 = Vector512.Create(k[5]);
        var k20 = Vector512.Create(k[6]); var k21 = Vector512.Create(k[7]); var k22 = Vector512.Create(k[8]);
        bool hasBias = b != null;
        var bias = hasBias ? Vector512.Create(*b) : default;
        // Lane i of the first 16 columns is even[i / 2] or (odd i) odd[i / 2]; of the next 16, index 8 + i / 2.
        var low = (Vector512<int>.Indices >> 1) + ((Vector512<int>.Indices & Vector512<int>.One) << 4);
        var high = low + Vector512.Create(8);
        for (int j = 0; 2 * j < w; j += 16)
        {
            int count = Math.Min(32, w - 2 * j);
            var maskLow = LaneMask.First(Math.Min(16, count)).AsSingle();
            var maskHigh = LaneMask.First(count - 16).AsSingle();
            Vector512<float> doneE = default, doneO = default, midE = default, midO = default, openE = default, openO = default;
            for (int r = 0; r < h + 2; r++)
            {
                ConvReluMaxPoolSingleChannel.Load(e + (long)r * s + j, o + (long)r * s + j, out var e0, out var o0, out var e1, out var o1);
                if (r >= 2) ConvReluMaxPoolSingleChannel.Taps(e0, o0, e1, o1, k20, k21, k22, ref doneE, ref doneO);
                if (r >= 1 && r <= h) ConvReluMaxPoolSingleChannel.Taps(e0, o0, e1, o1, k10, k11, k12, ref midE, ref midO);
                if (r < h) ConvReluMaxPoolSingleChannel.Taps(e0, o0, e1, o1, k00, k01, k02, ref openE, ref openO);
                if (r >= 2)
                {
                    // The GEMM epilogue's order: + bias (when there is one: adding zero would turn −0 into +0), then ReLU.
                    var even = hasBias ? doneE + bias : doneE;
                    var odd = hasBias ? doneO + bias : doneO;
                    if (relu) (even, odd) = (Vector512.Max(even, Vector512<float>.Zero), Vector512.Max(odd, Vector512<float>.Zero));
                    float* row = y + (long)(r - 2) * w + 2 * j;
                    Avx512F.MaskStore(row, maskLow, Avx512F.PermuteVar16x32x2(even, low, odd));
                    Avx512F.MaskStore(row + 16, maskHigh, Avx512F.PermuteVar16x32x2(even, high, odd));
                }
                (doneE, doneO, midE, midO, openE, openO) = (midE, midO, openE, openO, Vector512<float>.Zero, Vector512<float>.Zero);
            }
        }
    }
}
