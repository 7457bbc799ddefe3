using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

// Legend as in ChannelBlockedConv.cs; B the images of one weight-gradient run; Hp, Wp the padded plane; XT an image's padded input
// with 16 channels a pixel side by side, [C/16][Hp][Wp][16].

internal sealed unsafe partial class ChannelBlockedConv
{
    /// <summary>
    /// Whether a run's weight gradient puts the input's channels in the lanes instead of the outputs: where a group has only 16
    /// outputs, the output-lane kernel feeds one multiply-add per float it broadcasts (a load each), while with 16 input channels
    /// a vector, each vector loaded from XT feeds both outputs of a pass and dY is broadcast from its own rows. 3x3 taps, stride
    /// and dilation 1, padding (XT's zero border), several images a run (small planes), one group, at least 16 input channels
    /// in whole vectors, input planes of at most <see cref="InputLanesPlaneMax"/> pixels.
    /// </summary>
    private bool InputLanes => RunImages > 1 && _g.OC == Lanes && _g.C % Lanes == 0 && _g.KH == 3 && _g.KW == 3
        && _g.SH == 1 && _g.SW == 1 && _g.DH == 1 && _g.DW == 1 && PaddedLength > 0 && _g.H * _g.W <= InputLanesPlaneMax;

    // A plane turned round on the stack takes 64 bytes a pixel: at most 32 KB. (A run's planes have at most 256 output
    // pixels; with padding on one side only, the input plane can be larger.)
    private const int InputLanesPlaneMax = 512;

    // Image `slot` of an input-lane run: XT into the slot's share of `padded` (border zero since the buffer was cleared), and
    // its dY [16, P] as it is into the slot's share of `dyRun`. XT starts at padded's first cache-line boundary
    // (CacheLines.LineStart; RunPaddedLength has the 16 floats to spare), each image and row a multiple of 16 floats after
    // it; the caller keeps the buffer pinned for the whole run (ConvBackwardPass's ChunkBuffers), so the boundary stays put.
    [SkipLocalsInit]
    private void CollectInputLanes(int slot, float* x, float* dy, float* dyRun, float* padded)
    {
        int p = _g.ColCols, plane = _g.H * _g.W, wp = PaddedWidth;
        float* xt = CacheLines.LineStart(padded) + (long)slot * PaddedLength;
        float* turned = stackalloc float[plane * Lanes];   // at most 32 KB (InputLanesPlaneMax)
        for (int c0 = 0; c0 < _g.C; c0 += Lanes)
        {
            // The plane's pixels turned round 8 at a time, then each row's W vectors into XT's row.
            Transpose(x + (long)c0 * plane, plane, turned);
            float* block = xt + (long)c0 * PaddedHeight * wp;
            for (int y = 0; y < _g.H; y++)
            {
                float* from = turned + (long)y * _g.W * Lanes, to = block + ((long)(y + _g.PH) * wp + _g.PW) * Lanes;
                for (int i = 0; i < _g.W; i++) Vector512.Load(from + i * Lanes).Store(to + i * Lanes);
            }
        }
        long length = (long)Lanes * p;
        Buffer.MemoryCopy(dy, dyRun + slot * length, length * sizeof(float), length * sizeof(float));
    }

    // partial += dWᵀ of the run's first `images` images collected by CollectInputLanes: two outputs a pass over their pixels in
    // order (each sum a chain over the images' pixels), the 16 outputs' sums then turned round into the partial's blocks.
    [SkipLocalsInit]
    private void AddInputLanesRun(int images, float* partial, float* dyRun, float* padded)
    {
        int p = _g.ColCols, taps = _g.KH * _g.KW;
        long rowStride = (long)PaddedWidth * Lanes, image = (long)Lanes * p;
        float* sums = stackalloc float[taps * Lanes * Lanes];
        float* turned = stackalloc float[Lanes * Lanes];
        fixed (int* pixels = _pixels)
            for (int c0 = 0; c0 < _g.C; c0 += Lanes)
            {
                float* xt = CacheLines.LineStart(padded) + (long)c0 * PaddedHeight * PaddedWidth;
                for (int o = 0; o < Lanes; o += 2)
                    InputLanesPair(xt, PaddedLength, pixels, p, images, dyRun + (long)o * p, image, rowStride, sums + o * Lanes);
                // sums [tap][o][c] → partial row k = c·9 + tap, 16 outputs a row.
                for (int t = 0; t < taps; t++)
                {
                    Transpose(sums + (long)t * Lanes * Lanes, Lanes, turned);
                    for (int c = 0; c < Lanes; c++)
                    {
                        float* row = partial + ((long)(c0 + c) * taps + t) * Lanes;
                        (Vector512.Load(row) + Vector512.Load(turned + c * Lanes)).Store(row);
                    }
                }
            }
    }

    // Outputs o, o + 1 (dY rows at dy and dy + P of each image, images `image` floats apart) against the 9 taps of 16 input channels
    // (XT at xt, images `xtImage` floats apart): sums[t·256 + j·16 + c] = Σ dY[o + j, pixel]·XT[pixel + tap t][c].
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void InputLanesPair(float* xt, long xtImage, int* pixels, int p, int images, float* dy, long image, long rowStride,
        float* sums)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        Vector512<float> a8 = default, b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default, b6 = default;
        Vector512<float> b7 = default, b8 = default;
        long twoRows = 2 * rowStride;
        for (int n = 0; n < images; n++, xt += xtImage, dy += image)
            for (int i = 0; i < p; i++)
            {
                float* at = xt + (long)pixels[i] * Lanes;
                var d0 = Vector512.Create(dy[i]);
                var d1 = Vector512.Create(dy[p + i]);
                var v = Vector512.Load(at);
                a0 = Vector512.FusedMultiplyAdd(d0, v, a0);
                b0 = Vector512.FusedMultiplyAdd(d1, v, b0);
                v = Vector512.Load(at + Lanes);
                a1 = Vector512.FusedMultiplyAdd(d0, v, a1);
                b1 = Vector512.FusedMultiplyAdd(d1, v, b1);
                v = Vector512.Load(at + 2 * Lanes);
                a2 = Vector512.FusedMultiplyAdd(d0, v, a2);
                b2 = Vector512.FusedMultiplyAdd(d1, v, b2);
                v = Vector512.Load(at + rowStride);
                a3 = Vector512.FusedMultiplyAdd(d0, v, a3);
                b3 = Vector512.FusedMultiplyAdd(d1, v, b3);
                v = Vector512.Load(at + rowStride + Lanes);
                a4 = Vector512.FusedMultiplyAdd(d0, v, a4);
                b4 = Vector512.FusedMultiplyAdd(d1, v, b4);
                v = Vector512.Load(at + rowStride + 2 * Lanes);
                a5 = Vector512.FusedMultiplyAdd(d0, v, a5);
                b5 = Vector512.FusedMultiplyAdd(d1, v, b5);
                v = Vector512.Load(at + twoRows);
                a6 = Vector512.FusedMultiplyAdd(d0, v, a6);
                b6 = Vector512.FusedMultiplyAdd(d1, v, b6);
                v = Vector512.Load(at + twoRows + Lanes);
                a7 = Vector512.FusedMultiplyAdd(d0, v, a7);
                b7 = Vector512.FusedMultiplyAdd(d1, v, b7);
                v = Vector512.Load(at + twoRows + 2 * Lanes);
                a8 = Vector512.FusedMultiplyAdd(d0, v, a8);
                b8 = Vector512.FusedMultiplyAdd(d1, v, b8);
            }
        const int tap = Lanes * Lanes;
        a0.Store(sums); b0.Store(sums + Lanes);
        a1.Store(sums + tap); b1.Store(sums + tap + Lanes);
        a2.Store(sums + 2 * tap); b2.Store(sums + 2 * tap + Lanes);
        a3.Store(sums + 3 * tap); b3.Store(sums + 3 * tap + Lanes);
        a4.Store(sums + 4 * tap); b4.Store(sums + 4 * tap + Lanes);
        a5.Store(sums + 5 * tap); b5.Store(sums + 5 * tap + Lanes);
        a6.Store(sums + 6 * tap); b6.Store(sums + 6 * tap + Lanes);
        a7.Store(sums + 7 * tap); b7.Store(sums + 7 * tap + Lanes);
        a8.Store(sums + 8 * tap); b8.Store(sums + 8 * tap + Lanes);
    }
}
