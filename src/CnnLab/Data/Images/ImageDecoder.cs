using System.Buffers.Binary;
using CnnLab.IO;
using StbImageSharp;

namespace CnnLab.Data;

/// <summary>
/// Decodes PNG (8 and 16 bit, palette, grey, alpha), JPEG (baseline and progressive), BMP, GIF (the first frame) and
/// TGA into a [C, H, W] byte image of 1 (grey) or 3 (RGB) channels, in managed code (StbImageSharp, a port of
/// stb_image). The rules, the same as Pillow's <c>Image.open(f).convert("RGB" or "L")</c>, so that images prepared
/// here match torchvision's <c>ImageFolder</c>:
/// <list type="bullet">
/// <item>16-bit samples keep their high byte; palettes are expanded.</item>
/// <item>Alpha is dropped: the stored colour of a transparent pixel is kept (Pillow's <c>convert("RGB")</c>).</item>
/// <item>Colour to grey is ITU-R 601-2 luma, L = (19595·R + 38470·G + 7471·B + 2^15) >> 16 (Pillow's <c>convert("L")</c>);
/// grey to colour repeats the level in R, G and B.</item>
/// <item>EXIF orientation is not applied (neither Pillow nor torchvision does by default).</item>
/// </list>
/// Every file is checked before decoding: its size against <see cref="Budgets.MaxImagePixels"/> from the header (a
/// decompression bomb is refused unread), and PNG and JPEG files for a missing end (a truncated file), which the
/// decoder itself would fill with grey.
/// </summary>
/// <remarks>PyTorch: <c>torchvision.datasets.folder.pil_loader</c> followed by <c>convert</c>.</remarks>
public static class ImageDecoder
{
    /// <summary>The file extensions read as images (lower case).</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tga"];

    /// <summary>True when <paramref name="path"/>'s extension is one of <see cref="Extensions"/> (any case).</summary>
    public static bool IsImageFile(string path) => Extensions.Contains(Path.GetExtension(path).ToLowerInvariant());

    /// <summary>Reads the header of the image in <paramref name="bytes"/> (named <paramref name="path"/> in errors).</summary>
    public static ImageHeader ReadHeader(byte[] bytes, string path)
    {
        ImageInfo? info;
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            info = ImageInfo.FromStream(stream);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidFileException(path, $"not a readable image: {e.Message}");
        }
        if (info is not { } i)
        {
            // stb_image refuses images over 2^30 bytes without saying their size: the budget's message is clearer.
            if (StoredSize(bytes) is var (w, h)) CheckBudget(w, h, path);
            throw new InvalidFileException(path, "not an image CnnLab can decode (PNG, JPEG, BMP, GIF or TGA)");
        }
        if (i.Width < 1 || i.Height < 1) throw new InvalidFileException(path, $"image size {i.Width}x{i.Height} is empty");
        CheckBudget(i.Width, i.Height, path);
        return new ImageHeader(i.Width, i.Height, (int)i.ColorComponents);
    }

    private static void CheckBudget(long width, long height, string path)
    {
        try { Budgets.CheckImage(width, height, "the image"); }
        catch (ArgumentException e) { throw new InvalidFileException(path, e.Message); }
    }

    // Width and height as PNG (IHDR, big-endian), GIF (logical screen, little-endian) and BMP (info header) store them.
    private static (long Width, long Height)? StoredSize(ReadOnlySpan<byte> b)
    {
        if (b.Length >= 24 && b.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G']))
            return (BinaryPrimitives.ReadUInt32BigEndian(b[16..]), BinaryPrimitives.ReadUInt32BigEndian(b[20..]));
        if (b.Length >= 10 && b.StartsWith("GIF8"u8))
            return (BinaryPrimitives.ReadUInt16LittleEndian(b[6..]), BinaryPrimitives.ReadUInt16LittleEndian(b[8..]));
        if (b.Length >= 26 && b.StartsWith("BM"u8))
            return (Math.Abs((long)BinaryPrimitives.ReadInt32LittleEndian(b[18..])), Math.Abs((long)BinaryPrimitives.ReadInt32LittleEndian(b[22..])));
        return null;
    }

    /// <summary>Reads and decodes <paramref name="path"/> as a [<paramref name="channels"/>, H, W] image (1 or 3 channels).</summary>
    public static DecodedImage Decode(string path, int channels) => Decode(ReadFile(path), path, channels);

    /// <summary>Decodes the image in <paramref name="bytes"/> (named <paramref name="path"/> in errors).</summary>
    public static DecodedImage Decode(byte[] bytes, string path, int channels)
    {
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "channels must be 1 or 3");
        var header = ReadHeader(bytes, path);
        CheckComplete(bytes, path);
        ImageResult result;
        try { result = ImageResult.FromMemory(bytes, ColorComponents.RedGreenBlue); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidFileException(path, $"the image data is damaged ({e.Message})");
        }
        if (result.Width != header.Width || result.Height != header.Height)
            throw new InvalidFileException(path, $"decoded {result.Width}x{result.Height} but the header says {header.Width}x{header.Height}");
        return new DecodedImage(ToPlanes(result.Data, header.Width * header.Height, channels), channels, header.Height, header.Width,
            header.StoredChannels);
    }

    /// <summary>Reads a whole file, naming it in the error when it cannot.</summary>
    public static byte[] ReadFile(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidFileException(path, $"cannot read the file: {e.Message}", e);
        }
    }

    /// <summary>ITU-R 601-2 luma in Pillow's integer form: (19595·R + 38470·G + 7471·B + 2^15) >> 16.</summary>
    internal static byte Luma(byte r, byte g, byte b) => (byte)((19595 * r + 38470 * g + 7471 * b + 32768) >> 16);

    // Interleaved RGB → planes; grey by Pillow's integer luma.
    private static byte[] ToPlanes(byte[] rgb, int pixels, int channels)
    {
        var planes = new byte[channels * pixels];
        if (channels == 3)
        {
            for (int i = 0; i < pixels; i++)
            {
                planes[i] = rgb[3 * i];
                planes[pixels + i] = rgb[3 * i + 1];
                planes[2 * pixels + i] = rgb[3 * i + 2];
            }
        }
        else
        {
            for (int i = 0; i < pixels; i++) planes[i] = Luma(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]);
        }
        return planes;
    }

    // stb_image reads zeros past the end of its input, so a cut-off file would decode into a grey bottom: PNG must end
    // with its IEND chunk, and a JPEG's last scan (FF DA) must be followed by the end-of-image marker (FF D9).
    private static void CheckComplete(byte[] bytes, string path)
    {
        const string truncated = "the image data ends early (a truncated or damaged file)";
        ReadOnlySpan<byte> png = [0x89, (byte)'P', (byte)'N', (byte)'G'];
        if (bytes.AsSpan().StartsWith(png))
        {
            ReadOnlySpan<byte> iend = [(byte)'I', (byte)'E', (byte)'N', (byte)'D'];
            if (bytes.AsSpan().LastIndexOf(iend) < 0) throw new InvalidFileException(path, truncated);
        }
        else if (bytes.Length >= 2 && bytes[0] == 0xFF && bytes[1] == 0xD8)
        {
            int scan = bytes.AsSpan().LastIndexOf([(byte)0xFF, (byte)0xDA]);
            int end = bytes.AsSpan().LastIndexOf([(byte)0xFF, (byte)0xD9]);
            if (scan < 0 || end < scan) throw new InvalidFileException(path, truncated);
        }
    }
}
