using System.Text.Json;
using CnnLab.Data;
using Xunit;

namespace CnnLab.Tests;

public class ImageResizeTests
{
    private static readonly string Dir = Path.Combine(Fixtures.Root, "images");

    // Pillow's BILINEAR resize (antialiased) of the same 23x17 picture, shrinking and enlarging; Pillow rounds in fixed
    // point with 22 fractional bits, so a byte may differ by one.
    [Theory]
    [InlineData(7, 5)]
    [InlineData(40, 36)]
    public void MatchesPillowsBilinearFilterWithinOne(int width, int height)
    {
        var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "expected.json"))).RootElement;
        var source = ImageDecoder.Decode(Path.Combine(Dir, "rgb.png"), 3);
        var resized = ImageResize.Resize(source.Pixels, 3, source.Height, source.Width, height, width);
        var want = expected.GetProperty($"resize-{width}x{height}").GetProperty("rgb").EnumerateArray().Select(v => (byte)v.GetInt32()).ToArray();
        ImageDecoderTests.AssertClose(want, resized, 1, $"resize to {width}x{height}");
    }

    [Fact]
    public void SameSizeIsTheIdentityAndConstantsStayConstant()
    {
        var image = Enumerable.Range(0, 2 * 5 * 7).Select(i => (byte)(i * 37)).ToArray();
        Assert.Equal(image, ImageResize.Resize(image, 2, 5, 7, 5, 7));
        var flat = Enumerable.Repeat((byte)200, 3 * 31 * 29).ToArray();
        Assert.All(ImageResize.Resize(flat, 3, 31, 29, 8, 11), v => Assert.Equal(200, v));
        Assert.All(ImageResize.Resize(flat, 3, 31, 29, 64, 50), v => Assert.Equal(200, v));
    }

    [Fact]
    public void ShrinkingAveragesEverySourcePixel()
    {
        // A 1-pixel checkerboard halved: every output pixel covers two black and two white pixels (antialiasing),
        // where point sampling would give all black or all white.
        var board = new byte[16 * 16];
        for (int y = 0; y < 16; y++) for (int x = 0; x < 16; x++) board[y * 16 + x] = (byte)((x + y) % 2 == 0 ? 255 : 0);
        var half = ImageResize.Resize(board, 1, 16, 16, 4, 4);
        Assert.All(half, v => Assert.InRange(v, 120, 135));
    }

    [Fact]
    public void FloatVersionAgreesWithTheByteVersionOnARegion()
    {
        var source = ImageDecoder.Decode(Path.Combine(Dir, "rgb.png"), 3);
        var bytes = ImageResize.ResizeRegion(source.Pixels, 3, 17, 23, 2, 3, 11, 15, 9, 10);
        var plane = source.Pixels.AsSpan(17 * 23, 17 * 23).ToArray().Select(v => (float)v).ToArray();
        var output = new float[9 * 10];
        ImageResize.ResizeRegion(plane, 23, 2, 3, 11, 15, output, 9, 10, new float[17 * 23]);
        var green = bytes.AsSpan(90, 90).ToArray();
        for (int i = 0; i < 90; i++) Assert.True(Math.Abs(output[i] - green[i]) <= 1f, $"pixel {i}: {output[i]} vs {green[i]}");
    }

    [Theory]
    [InlineData(100, 60, 32, 32, 60, 60, 20, 0)]    // portrait to a square: full width, the centre rows
    [InlineData(60, 100, 30, 20, 60, 40, 0, 30)]    // landscape to a portrait target: full height, the centre columns
    [InlineData(61, 100, 30, 30, 61, 61, 0, 20)]    // an odd margin: torchvision rounds the offset half up
    public void CenterCropKeepsTheAspectRatio(int h, int w, int th, int tw, int rh, int rw, int top, int left)
    {
        var image = new byte[h * w];
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) image[y * w + x] = (byte)(3 * x + 7 * y);
        var prep = new ImagePreprocessing(1, th, tw, CenterCrop: true);
        var output = prep.Apply(new DecodedImage(image, 1, h, w, 1));
        var expected = ImageResize.ResizeRegion(image, 1, h, w, top, left, rh, rw, th, tw);
        Assert.Equal(expected, output);
    }

    [Theory]
    [InlineData("32", 32, 32)]
    [InlineData("64x48", 64, 48)]
    [InlineData(" 7X9 ", 7, 9)]
    public void ParsesSizes(string text, int h, int w) => Assert.Equal((h, w), ImagePreprocessing.ParseSize(text));

    [Theory]
    [InlineData("0")]
    [InlineData("-3")]
    [InlineData("5000")]
    [InlineData("3x")]
    [InlineData("axb")]
    [InlineData("1x2x3")]
    public void RefusesBadSizes(string text) => Assert.Throws<ArgumentException>(() => ImagePreprocessing.ParseSize(text));
}
