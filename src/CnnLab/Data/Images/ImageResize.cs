using System.Numerics.Tensors;

namespace CnnLab.Data;

/// <summary>
/// Resizes image planes with a triangle (bilinear) filter that widens when it shrinks, so that every source pixel under an
/// output pixel counts (antialiasing), as Pillow's <c>Image.resize(size, BILINEAR)</c> and torchvision's
/// <c>Resize(antialias=True)</c> do. Output pixel i covers source [i·s, (i+1)·s) with s = in/out; its weights are
/// tri((j + ½ − (i + ½)·s) / max(s, 1)) over source pixels j within max(s, 1) of the centre, normalized to sum 1.
/// Rows first, then columns; the byte version rounds after each pass as Pillow does (results within 1 of Pillow's).
/// </summary>
/// <remarks>PyTorch: <c>torchvision.transforms.functional.resize(img, size, InterpolationMode.BILINEAR, antialias=True)</c>.
/// Written here because the images are ours to prepare before training and no managed library ships this filter.</remarks>
public static class ImageResize
{
    /// <summary>Resizes a [C, H, W] byte image to [C, <paramref name="height"/>, <paramref name="width"/>].</summary>
    public static byte[] Resize(ReadOnlySpan<byte> image, int channels, int sourceHeight, int sourceWidth, int height, int width) =>
        ResizeRegion(image, channels, sourceHeight, sourceWidth, 0, 0, sourceHeight, sourceWidth, height, width);

    /// <summary>
    /// Resizes the region [top, top + regionHeight) x [left, left + regionWidth) of a [C, H, W] byte image to
    /// [C, height, width] (a crop and a resize in one).
    /// </summary>
    public static byte[] ResizeRegion(ReadOnlySpan<byte> image, int channels, int sourceHeight, int sourceWidth,
        int top, int left, int regionHeight, int regionWidth, int height, int width)
    {
        CheckRegion(image.Length, channels, sourceHeight, sourceWidth, top, left, regionHeight, regionWidth, height, width);
        var rows = Filter.For(regionWidth, width, left);
        var cols = Filter.For(regionHeight, height, 0);   // the first pass's rows start at the region's top
        var output = new byte[channels * height * width];
        var temp = new byte[regionHeight * width];
        for (int c = 0; c < channels; c++)
        {
            var plane = image.Slice(c * sourceHeight * sourceWidth, sourceHeight * sourceWidth);
            for (int y = 0; y < regionHeight; y++)
                rows.Apply(plane.Slice((top + y) * sourceWidth, sourceWidth), 1, temp.AsSpan(y * width, width));
            var dst = output.AsSpan(c * height * width, height * width);
            for (int x = 0; x < width; x++)
                cols.ApplyColumn(temp, width, x, dst);
        }
        return output;
    }

    /// <summary>
    /// Float version for augmentation: resizes the region of one [H, W] plane of values into <paramref name="output"/>
    /// [height, width], with no rounding between the passes. <paramref name="scratch"/> holds regionHeight·width floats.
    /// </summary>
    public static void ResizeRegion(ReadOnlySpan<float> plane, int sourceWidth, int top, int left, int regionHeight, int regionWidth,
        Span<float> output, int height, int width, Span<float> scratch) =>
        ResizeRegion(plane, 1, plane.Length / sourceWidth, sourceWidth, top, left, regionHeight, regionWidth, output, height, width, scratch);

    /// <summary>
    /// The float version for every plane of a [C, H, W] image into [C, height, width], the filters built once for all.
    /// </summary>
    public static void ResizeRegion(ReadOnlySpan<float> image, int channels, int sourceHeight, int sourceWidth, int top, int left,
        int regionHeight, int regionWidth, Span<float> output, int height, int width, Span<float> scratch)
    {
        var rows = Filter.For(regionWidth, width, left);
        var cols = Filter.For(regionHeight, height, 0);   // the first pass's rows start at the region's top
        int planeIn = sourceHeight * sourceWidth, planeOut = height * width;
        for (int c = 0; c < channels; c++)
            Resize(image.Slice(c * planeIn, planeIn), sourceWidth, top, regionHeight, rows, cols, output.Slice(c * planeOut, planeOut),
                width, scratch);
    }

    private static void Resize(ReadOnlySpan<float> plane, int sourceWidth, int top, int regionHeight, Filter rows, Filter cols,
        Span<float> output, int width, Span<float> scratch)
    {
        scratch = scratch[..(regionHeight * width)];
        for (int y = 0; y < regionHeight; y++)
            rows.Apply(plane.Slice((top + y) * sourceWidth, sourceWidth), scratch.Slice(y * width, width));
        cols.ApplyRows(scratch, width, output);
    }

    private static void CheckRegion(int length, int channels, int sh, int sw, int top, int left, int rh, int rw, int h, int w)
    {
        if (channels < 1 || sh < 1 || sw < 1 || h < 1 || w < 1 || rh < 1 || rw < 1)
            throw new ArgumentException($"cannot resize {channels}x{sh}x{sw} (region {rh}x{rw}) to {h}x{w}");
        if ((long)channels * sh * sw != length)
            throw new ArgumentException($"{length} bytes are not a {channels}x{sh}x{sw} image");
        if (top < 0 || left < 0 || top + rh > sh || left + rw > sw)
            throw new ArgumentException($"region {rh}x{rw} at ({top}, {left}) is outside the {sh}x{sw} image");
    }

    /// <summary>For each output pixel: the first source pixel and the normalized weights of the ones it reads.</summary>
    private sealed class Filter
    {
        private readonly int[] _first;
        private readonly int _taps;
        private readonly float[] _weights;   // [output, taps]

        private Filter(int[] first, int taps, float[] weights)
        {
            _first = first;
            _taps = taps;
            _weights = weights;
        }

        public static Filter For(int inSize, int outSize, int offset)
        {
            double scale = (double)inSize / outSize, support = Math.Max(scale, 1.0);
            int taps = (int)Math.Ceiling(support) * 2 + 1;
            var first = new int[outSize];
            var weights = new float[outSize * taps];
            var w = new double[taps];
            for (int i = 0; i < outSize; i++)
            {
                double center = (i + 0.5) * scale;
                int lo = Math.Max((int)(center - support + 0.5), 0);
                int hi = Math.Min((int)(center + support + 0.5), inSize);
                double total = 0;
                int n = hi - lo;
                for (int j = 0; j < n; j++)
                {
                    double t = Math.Abs((j + lo - center + 0.5) / support);
                    w[j] = t < 1 ? 1 - t : 0;
                    total += w[j];
                }
                first[i] = lo + offset;
                for (int j = 0; j < n; j++) weights[i * taps + j] = (float)(total > 0 ? w[j] / total : 0);
            }
            return new Filter(first, taps, weights);
        }

        public void Apply(ReadOnlySpan<byte> row, int stride, Span<byte> output)
        {
            for (int i = 0; i < output.Length; i++)
            {
                float s = 0;
                var wt = _weights.AsSpan(i * _taps, _taps);
                int start = _first[i];
                for (int j = 0; j < _taps && start + j < row.Length; j++)
                    if (wt[j] != 0) s += wt[j] * row[(start + j) * stride];
                output[i] = ToByte(s);
            }
        }

        public void ApplyColumn(ReadOnlySpan<byte> temp, int width, int x, Span<byte> output)
        {
            int rows = temp.Length / width;
            for (int i = 0; i < _first.Length; i++)
            {
                float s = 0;
                int start = _first[i];
                for (int j = 0; j < _taps && start + j < rows; j++)
                {
                    float wt = _weights[i * _taps + j];
                    if (wt != 0) s += wt * temp[(start + j) * width + x];
                }
                output[i * width + x] = ToByte(s);
            }
        }

        public void Apply(ReadOnlySpan<float> row, Span<float> output)
        {
            for (int i = 0; i < output.Length; i++)
            {
                float s = 0;
                int start = _first[i];
                for (int j = 0; j < _taps && start + j < row.Length; j++) s += _weights[i * _taps + j] * row[start + j];
                output[i] = s;
            }
        }

        // The vertical pass a whole row at a time (output row i = Σ_j w_ij · input row first_i + j), vectorized along x.
        public void ApplyRows(ReadOnlySpan<float> temp, int width, Span<float> output)
        {
            int rows = temp.Length / width;
            for (int i = 0; i < _first.Length; i++)
            {
                var o = output.Slice(i * width, width);
                o.Clear();
                int start = _first[i];
                for (int j = 0; j < _taps && start + j < rows; j++)
                {
                    float w = _weights[i * _taps + j];
                    if (w != 0) TensorPrimitives.MultiplyAdd(temp.Slice((start + j) * width, width), w, o, o);
                }
            }
        }

        private static byte ToByte(float v) => (byte)Math.Clamp(MathF.Round(v, MidpointRounding.AwayFromZero), 0, 255);
    }
}
