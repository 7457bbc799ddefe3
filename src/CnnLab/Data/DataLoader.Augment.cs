namespace CnnLab.Data;

/// <summary>The float path of augmentation: random resized crops and colour jitter (see <see cref="Augmentation"/>).</summary>
public sealed partial class DataLoader
{
    private float[]? _source;    // the image as [C, H, W] values in [0, 1]
    private float[]? _scratch;   // the resize's first pass

    // src: [C, H, W] bytes; dst: [C, H, W] normalized floats. Draws, in order: the crop (resized or padded), the flip,
    // the brightness factor, the contrast factor.
    private void AugmentInFloat(ReadOnlySpan<byte> src, Span<float> dst, Augmentation aug)
    {
        int c = _dataset.Channels, h = _dataset.Height, w = _dataset.Width, plane = h * w;
        var gen = _augmentGenerator;
        var source = _source ??= new float[c * plane];
        var scratch = _scratch ??= new float[plane];
        for (int i = 0; i < source.Length; i++) source[i] = src[i] / 255f;
        if (aug.ResizedCropMinScale > 0)
        {
            var (top, left, rh, rw) = ResizedCropRegion(h, w, aug.ResizedCropMinScale);
            ImageResize.ResizeRegion(source, c, h, w, top, left, rh, rw, dst, h, w, scratch);
        }
        else
        {
            int p = aug.Padding;
            int dy = p > 0 ? gen.NextInt(2 * p + 1) - p : 0;
            int dx = p > 0 ? gen.NextInt(2 * p + 1) - p : 0;
            for (int ch = 0; ch < c; ch++)
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                    {
                        int sy = y + dy, sx = x + dx;
                        dst[ch * plane + y * w + x] = (uint)sy < (uint)h && (uint)sx < (uint)w ? source[ch * plane + sy * w + sx] : 0f;
                    }
        }
        if (gen.NextFloat() < aug.FlipProbability)
            for (int row = 0; row < c * h; row++) dst.Slice(row * w, w).Reverse();
        if (aug.Brightness > 0)
        {
            float b = 1 - aug.Brightness + 2 * aug.Brightness * gen.NextFloat();
            for (int i = 0; i < c * plane; i++) dst[i] = Math.Clamp(dst[i] * b, 0f, 1f);
        }
        if (aug.Contrast > 0)
        {
            float k = 1 - aug.Contrast + 2 * aug.Contrast * gen.NextFloat();
            float mean = GreyMean(dst, c, plane);
            for (int i = 0; i < c * plane; i++) dst[i] = Math.Clamp(k * dst[i] + (1 - k) * mean, 0f, 1f);
        }
        for (int ch = 0; ch < c; ch++)
        {
            int n = Normalize.Channels == 1 ? 0 : ch;
            float mean = Normalize.Means[n], std = Normalize.Stds[n];
            var d = dst.Slice(ch * plane, plane);
            for (int i = 0; i < plane; i++) d[i] = (d[i] - mean) / std;
        }
    }

    // torchvision's RandomResizedCrop.get_params: ten tries at an area share and aspect ratio that fit, else the whole image.
    private (int Top, int Left, int Height, int Width) ResizedCropRegion(int h, int w, float minScale)
    {
        var gen = _augmentGenerator;
        double area = (double)h * w, logLo = Math.Log(3.0 / 4), logHi = Math.Log(4.0 / 3);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double target = area * (minScale + (1 - minScale) * gen.NextFloat());
            double ratio = Math.Exp(logLo + (logHi - logLo) * gen.NextFloat());
            int cw = (int)Math.Round(Math.Sqrt(target * ratio)), chh = (int)Math.Round(Math.Sqrt(target / ratio));
            if (cw > 0 && cw <= w && chh > 0 && chh <= h)
                return (gen.NextInt(h - chh + 1), gen.NextInt(w - cw + 1), chh, cw);
        }
        return (0, 0, h, w);
    }

    // The mean of the image's grey levels: ITU-R 601 luma for RGB (torchvision's rgb_to_grayscale), the plane itself for grey.
    private static float GreyMean(ReadOnlySpan<float> image, int channels, int plane)
    {
        double sum = 0;
        for (int i = 0; i < plane; i++)
            sum += channels == 3 ? 0.299 * image[i] + 0.587 * image[plane + i] + 0.114 * image[2 * plane + i] : image[i];
        return (float)(sum / plane);
    }
}
