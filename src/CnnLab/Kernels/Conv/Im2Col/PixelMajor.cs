using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

/// <summary>
/// Planes [B, channels, pixels] turned into pixel-major form [pixels, channels, B] (the batch innermost: one GEMM column per
/// image) and back, for <see cref="PixelGemmConv"/>. Images go 16 at a time, so a pixel-major row of 16 is one line, written
/// (or read) whole while the 16 images' lines are in L1.
/// </summary>
internal static unsafe class PixelMajor
{
    private const int Images = 16;

    /// <summary>
    /// to[(a·channels + c)·B + n] = from[(n·channels + c)·pixels + a] for n &lt; <paramref name="images"/>, B =
    /// <paramref name="columns"/> (0: the images).
    /// </summary>
    public static void Gather(float* from, int images, int channels, int pixels, float* to, int columns = 0)
    {
        if (columns == 0) columns = images;
        long image = (long)channels * pixels;
        bool vector = Avx2.IsSupported && image * Images <= int.MaxValue;
        var offsets = Vector256.CreateSequence(0, (int)Math.Min(image, int.MaxValue / Images));
        long second = 8 * image;
        for (int n0 = 0; n0 < images; n0 += Images)
        {
            int count = Math.Min(Images, images - n0);
            for (int c = 0; c < channels; c++)
                for (int a = 0; a < pixels; a++)
                {
                    float* src = from + n0 * image + (long)c * pixels + a, dst = to + ((long)a * channels + c) * columns + n0;
                    if (vector && count == Images)
                    {
                        Avx2.GatherVector256(src, offsets, 4).Store(dst);
                        Avx2.GatherVector256(src + second, offsets, 4).Store(dst + 8);
                    }
                    else
                        for (int n = 0; n < count; n++) dst[n] = src[n * image];
                }
        }
    }

    /// <summary>
    /// to[(n·channels + c)·pixels + a] = act(from[(a·channels + c)·B + n] + bias[c]) (bias null: none), or added to it with
    /// <paramref name="add"/> (then no bias or rectifier).
    /// </summary>
    public static void Scatter(float* from, int images, int channels, int pixels, float* bias, Rectifier act, float* to, bool add)
    {
        long image = (long)channels * pixels;
        float* row = stackalloc float[Images];
        for (int n0 = 0; n0 < images; n0 += Images)
        {
            int count = Math.Min(Images, images - n0);
            for (int c = 0; c < channels; c++)
                for (int a = 0; a < pixels; a++)
                {
                    float* src = from + ((long)a * channels + c) * images + n0, dst = to + n0 * image + (long)c * pixels + a;
                    if (count == Images && Vector512.IsHardwareAccelerated)
                    {
                        var v = Vector512.Load(src);
                        if (bias != null) v += Vector512.Create(bias[c]);
                        act.Apply(v).Store(row);
                    }
                    else
                        for (int n = 0; n < count; n++) row[n] = act.Apply(Vector512.Create(bias == null ? src[n] : src[n] + bias[c])).ToScalar();
                    if (add)
                        for (int n = 0; n < count; n++) dst[n * image] += src[n];
                    else
                        for (int n = 0; n < count; n++) dst[n * image] = row[n];
                }
        }
    }
}
