using System.Text.Json;
using CnnLab.Data;
using CnnLab.IO;
using Xunit;

namespace CnnLab.Tests;

/// <summary>The decoder against Pillow's decoding of the same files (tools/reference/make_image_fixtures.py).</summary>
public class ImageDecoderTests
{
    private static readonly string Dir = Path.Combine(Fixtures.Root, "images");
    private static readonly Lazy<JsonElement> Expected =
        new(() => JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "expected.json"))).RootElement);

    private static byte[] Values(string name, string key) =>
        Expected.Value.GetProperty(name).GetProperty(key).EnumerateArray().Select(v => (byte)v.GetInt32()).ToArray();

    // Lossless formats decode to Pillow's bytes exactly; JPEG's inverse DCT and upsampling differ between decoders.
    [Theory]
    [InlineData("rgb.png", 0)]
    [InlineData("rgba.png", 0)]
    [InlineData("grey.png", 0)]
    [InlineData("grey-alpha.png", 0)]
    [InlineData("palette.png", 0)]
    [InlineData("rgb.bmp", 0)]
    [InlineData("rgb.tga", 0)]
    [InlineData("palette.gif", 0)]
    [InlineData("quality100.jpg", 3)]
    public void DecodesLikePillowInColourAndGrey(string name, int tolerance)
    {
        var rgb = ImageDecoder.Decode(Path.Combine(Dir, name), 3);
        Assert.Equal((17, 23), (rgb.Height, rgb.Width));
        AssertClose(Values(name, "rgb"), rgb.Pixels, tolerance, name + " RGB");
        var grey = ImageDecoder.Decode(Path.Combine(Dir, name), 1);
        AssertClose(Values(name, "grey"), grey.Pixels, tolerance, name + " grey");
    }

    [Fact]
    public void SixteenBitSamplesKeepTheirHighByte()
    {
        // grey16.png stores v · 257 for the grey levels v of grey.png (Pillow clips such samples to 255 instead).
        var grey = ImageDecoder.Decode(Path.Combine(Dir, "grey16.png"), 1);
        Assert.Equal(Values("grey.png", "grey"), grey.Pixels);
        Assert.Equal(1, grey.StoredChannels);
    }

    [Fact]
    public void HeaderSaysWhatIsStored()
    {
        Assert.True(ImageDecoder.ReadHeader(File.ReadAllBytes(Path.Combine(Dir, "grey.png")), "grey.png").IsGrey);
        Assert.True(ImageDecoder.ReadHeader(File.ReadAllBytes(Path.Combine(Dir, "grey-alpha.png")), "x").IsGrey);
        Assert.False(ImageDecoder.ReadHeader(File.ReadAllBytes(Path.Combine(Dir, "rgba.png")), "x").IsGrey);
        Assert.Equal(new ImageHeader(23, 17, 3), ImageDecoder.ReadHeader(File.ReadAllBytes(Path.Combine(Dir, "rgb.bmp")), "x"));
    }

    [Theory]
    [InlineData("rgb.png")]
    [InlineData("quality100.jpg")]
    public void TruncatedFilesAreRefusedNamingTheFile(string name)
    {
        var bytes = File.ReadAllBytes(Path.Combine(Dir, name));
        var path = Path.Combine(TinyData.TempDir("truncated"), name);
        File.WriteAllBytes(path, bytes[..(bytes.Length * 2 / 3)]);
        var e = Assert.Throws<InvalidFileException>(() => ImageDecoder.Decode(path, 3));
        Assert.Equal(path, e.FilePath);
        Assert.Contains("ends early", e.Problem);
    }

    [Fact]
    public void NonImagesAndEmptyFilesAreRefused()
    {
        var dir = TinyData.TempDir("not-images");
        File.WriteAllText(Path.Combine(dir, "a.png"), "hello, I am text");
        File.WriteAllBytes(Path.Combine(dir, "b.jpg"), []);
        Assert.Contains("not an image", Assert.Throws<InvalidFileException>(() => ImageDecoder.Decode(Path.Combine(dir, "a.png"), 3)).Problem);
        Assert.Throws<InvalidFileException>(() => ImageDecoder.Decode(Path.Combine(dir, "b.jpg"), 1));
    }

    [Fact]
    public void ExtensionsAreMatchedInAnyCase()
    {
        Assert.True(ImageDecoder.IsImageFile("a/B.JPEG"));
        Assert.True(ImageDecoder.IsImageFile("x.Png"));
        Assert.False(ImageDecoder.IsImageFile(".DS_Store"));
        Assert.False(ImageDecoder.IsImageFile("notes.txt"));
    }

    internal static void AssertClose(byte[] expected, byte[] actual, int tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        int worst = 0, at = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            int d = Math.Abs(expected[i] - actual[i]);
            if (d > worst) (worst, at) = (d, i);
        }
        Assert.True(worst <= tolerance, $"{what}: byte {at} is {(at < 0 ? 0 : actual[at])}, Pillow's {(at < 0 ? 0 : expected[at])}");
    }
}
