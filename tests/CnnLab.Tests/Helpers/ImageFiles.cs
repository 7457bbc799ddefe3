using SkiaSharp;

namespace CnnLab.Tests;

/// <summary>Writes small image files for the data tests (SkiaSharp's encoders, independent of the decoder under test).</summary>
public static class ImageFiles
{
    /// <summary>A width x height PNG (or JPEG for .jpg) whose pixels follow (seed, x, y); grey when <paramref name="grey"/>.</summary>
    public static string Write(string path, int width, int height, int seed, bool grey = false)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var type = grey ? SKColorType.Gray8 : SKColorType.Rgba8888;
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, type, SKAlphaType.Opaque));
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                byte r = (byte)(seed * 40 + x * 9), g = (byte)(seed * 70 + y * 13), b = (byte)(seed * 25 + x * y);
                bitmap.SetPixel(x, y, grey ? new SKColor(r, r, r) : new SKColor(r, g, b));
            }
        bool jpeg = path.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase);
        using var data = bitmap.Encode(jpeg ? SKEncodedImageFormat.Jpeg : SKEncodedImageFormat.Png, 95);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }

    /// <summary>
    /// An image-folder data set under a new temporary folder: <paramref name="perClass"/> images of each class in
    /// train/ and half as many in test/ (or all in DIR/&lt;class&gt;/ without splits).
    /// </summary>
    public static string Folder(string[] classes, int perClass, int width = 12, int height = 10, bool splits = true, bool grey = false)
    {
        string root = TinyData.TempDir("image-folder");
        for (int c = 0; c < classes.Length; c++)
        {
            for (int i = 0; i < perClass; i++)
                Write(Path.Combine(root, splits ? "train" : "", classes[c], $"img {i:D3}.png"), width, height, c * 3 + i % 3, grey);
            if (splits)
                for (int i = 0; i < Math.Max(1, perClass / 2); i++)
                    Write(Path.Combine(root, "test", classes[c], $"t{i}.png"), width, height, c * 3 + i % 2, grey);
        }
        return root;
    }
}
