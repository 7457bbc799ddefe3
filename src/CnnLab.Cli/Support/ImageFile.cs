using SkiaSharp;
using CnnLab.IO;

namespace CnnLab.Cli.Support;

/// <summary>
/// Reads a PNG/JPEG/BMP/WebP image (SkiaSharp decodes it) as a 28x28 grayscale image in
/// Fashion-MNIST's convention: a bright object on a dark background. Photos of a dark object on a
/// light background are inverted, detected by a bright border.
/// </summary>
internal static class ImageFile
{
    public static byte[] ReadGray28(string path, out bool inverted)
    {
        using var decoded = SKBitmap.Decode(path)
            ?? throw new InvalidFileException(path, "not an image SkiaSharp can decode (PNG, JPEG, BMP, GIF, WebP)");
        if (decoded.Width < 1 || decoded.Height < 1 || (long)decoded.Width * decoded.Height > 100_000_000)
            throw new InvalidFileException(path, $"image size {decoded.Width}x{decoded.Height} is not supported");
        var info = new SKImageInfo(28, 28, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var small = decoded.Resize(info, new SKSamplingOptions(SKCubicResampler.Mitchell))
            ?? throw new InvalidFileException(path, "could not resize the image to 28x28");
        var gray = new byte[28 * 28];
        double border = 0;
        int borderCount = 0;
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++)
            {
                var c = small.GetPixel(x, y);
                // ITU-R BT.601 luma; transparent pixels count as background (black)
                double luma = (0.299 * c.Red + 0.587 * c.Green + 0.114 * c.Blue) * c.Alpha / 255.0;
                gray[y * 28 + x] = (byte)Math.Clamp(Math.Round(luma), 0, 255);
                if (x == 0 || y == 0 || x == 27 || y == 27) { border += luma; borderCount++; }
            }
        inverted = border / borderCount > 127;
        if (inverted)
            for (int i = 0; i < gray.Length; i++) gray[i] = (byte)(255 - gray[i]);
        return gray;
    }
}
