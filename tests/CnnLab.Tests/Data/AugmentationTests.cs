using CnnLab.Data;
using Xunit;

namespace CnnLab.Tests;

public class AugmentationTests
{
    private static ImageDataset Rgb(int n, int h = 12, int w = 10)
    {
        var pixels = new byte[n * 3 * h * w];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i * 7 % 251);
        return new ImageDataset("rgb", "t", pixels, new int[n], 3, h, w, ["a", "b"]);
    }

    [Theory]
    [InlineData("default", 2, 0.5f, 0f, 0f)]
    [InlineData("crop:4,flip", 4, 0.5f, 0f, 0f)]
    [InlineData("resized-crop,flip:0.25,jitter", 0, 0.25f, 0.08f, 0.2f)]
    [InlineData("resized-crop:0.5, brightness:0.3", 0, 0f, 0.5f, 0.3f)]
    public void ParsesLists(string spec, int padding, float flip, float scale, float brightness)
    {
        var a = Augmentation.Parse(spec);
        Assert.Equal((padding, flip, scale, brightness), (a.Padding, a.FlipProbability, a.ResizedCropMinScale, a.Brightness));
    }

    [Theory]
    [InlineData("rotate")]
    [InlineData("crop:x")]
    [InlineData("flip:2")]
    [InlineData("resized-crop:1.5")]
    [InlineData("jitter:1")]
    [InlineData("crop:-1")]
    public void RefusesBadLists(string spec) =>
        Assert.StartsWith("--augment", Assert.Throws<ArgumentException>(() => Augmentation.Parse(spec)).Message);

    [Fact]
    public void ResizedCropsAndJitterAreSeededAndStayInRange()
    {
        var data = Rgb(8);
        var aug = Augmentation.Parse("resized-crop:0.3,flip,jitter:0.4");
        float[] Batch(long seed, int epoch) =>
            new DataLoader(data, 8, seed: seed, normalize: Normalize.None, augmentation: aug).Epoch(epoch).Single().X.ToArray();
        var a = Batch(3, 0);
        Assert.Equal(a, Batch(3, 0));
        Assert.NotEqual(a, Batch(3, 1));
        Assert.NotEqual(a, Batch(4, 0));
        Assert.All(a, v => Assert.InRange(v, 0f, 1f));
        var plain = new DataLoader(data, 8, normalize: Normalize.None).Epoch(0).Single().X.ToArray();
        Assert.NotEqual(plain, a);
    }

    [Fact]
    public void AResizedCropOfScaleOneWithoutFlipOrJitterIsTheImage()
    {
        // min scale → 1 leaves only the aspect ratio to draw; a square image with ratio ≠ 1 falls back after ten tries or
        // crops nearly all: the output stays close to the input.
        var data = Rgb(2, 16, 16);
        var aug = new Augmentation(0, 0f) { ResizedCropMinScale = 0.999f };
        var x = new DataLoader(data, 2, normalize: Normalize.None, augmentation: aug).Epoch(0).Single().X.ToArray();
        var plain = new DataLoader(data, 2, normalize: Normalize.None).Epoch(0).Single().X.ToArray();
        double meanDiff = x.Zip(plain, (p, q) => Math.Abs(p - q)).Average();
        Assert.True(meanDiff < 0.25, $"mean difference {meanDiff}");
    }

    [Fact]
    public void ThePaddedCropOfTheFloatPathMatchesTheBytePath()
    {
        // brightness jitter of strength ~0 keeps values (b ∈ [1 − 1e-6, 1 + 1e-6]) but takes the float path; the crop and
        // flip draws come first in both, so batches of one image (each seeded afresh) agree.
        var data = Rgb(4);
        float[] All(Augmentation a) =>
            new DataLoader(data, 1, seed: 9, normalize: Normalize.None, augmentation: a).Epoch(0).SelectMany(b => b.X.ToArray()).ToArray();
        var bytePath = All(new Augmentation(2));
        var floatPath = All(new Augmentation(2) { Brightness = 1e-6f });
        for (int i = 0; i < bytePath.Length; i++) Assert.Equal(bytePath[i], floatPath[i], 4);
    }
}
