using System.Globalization;

namespace CnnLab.Data;

/// <summary>
/// How an image of any size becomes a model's input, decided once for a dataset and stored with the model so that
/// <c>eval</c>, <c>predict</c> and the export prepare images as training did: <see cref="Channels"/> (1 grey, 3 RGB;
/// see <see cref="ImageDecoder"/> for the conversions), then a resize to <see cref="Height"/> x <see cref="Width"/>
/// (<see cref="ImageResize"/>, antialiased when shrinking). With <see cref="CenterCrop"/> the image is first scaled so
/// that it covers the target (scale = max(H/h, W/w), sizes rounded) and the centre is cut out, keeping the aspect
/// ratio; without it the image is stretched to the target.
/// </summary>
/// <remarks>PyTorch: <c>transforms.Resize((H, W))</c>, or with <see cref="CenterCrop"/>
/// <c>transforms.Compose([transforms.Resize(min(H, W)), transforms.CenterCrop((H, W))])</c> (the same for square targets),
/// after <c>Grayscale()</c> when <see cref="Channels"/> is 1.</remarks>
public sealed record ImagePreprocessing(int Channels, int Height, int Width, bool CenterCrop = false)
{
    /// <summary>Fashion-MNIST's: 1x28x28 grey.</summary>
    public static ImagePreprocessing FashionMnist { get; } = new(1, 28, 28);

    /// <summary>Throws unless the channels are 1 or 3 and the size is 1..4096 on each side.</summary>
    public void Validate()
    {
        if (Channels is not (1 or 3)) throw new ArgumentException($"channels must be 1 or 3, got {Channels}");
        if (Height is < 1 or > 4096 || Width is < 1 or > 4096)
            throw new ArgumentException($"image size must be 1..4096 on each side, got {Height}x{Width}");
    }

    /// <summary>The [C, H, W] bytes of <paramref name="image"/> (already decoded with <see cref="Channels"/> channels).</summary>
    public byte[] Apply(DecodedImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Channels != Channels) throw new ArgumentException($"image has {image.Channels} channels, expected {Channels}");
        if (image.Height == Height && image.Width == Width) return image.Pixels;
        if (!CenterCrop) return ImageResize.Resize(image.Pixels, Channels, image.Height, image.Width, Height, Width);
        double scale = Math.Max((double)Height / image.Height, (double)Width / image.Width);
        // The region of the source that the target covers: the target scaled back, centred (torchvision rounds the crop's
        // offset half up: int(round((h - H) / 2.0))).
        int regionHeight = Math.Clamp((int)Math.Round(Height / scale), 1, image.Height);
        int regionWidth = Math.Clamp((int)Math.Round(Width / scale), 1, image.Width);
        int top = (image.Height - regionHeight + 1) / 2, left = (image.Width - regionWidth + 1) / 2;
        return ImageResize.ResizeRegion(image.Pixels, Channels, image.Height, image.Width, top, left, regionHeight, regionWidth,
            Height, Width);
    }

    /// <summary>Every image of <paramref name="data"/> (stored as it is, e.g. IDX or CIFAR) brought to these channels and size.</summary>
    public ImageDataset ApplyTo(ImageDataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        Validate();
        long outSize = (long)Channels * Height * Width;
        if (outSize * data.Count > Array.MaxLength)
            throw new ArgumentException($"{data.Count:N0} images of {this} do not fit in memory as one set; use a smaller --image-size");
        var pixels = new byte[outSize * data.Count];
        Parallel.For(0, data.Count, i =>
        {
            var image = new DecodedImage(ConvertChannels(data.ImageBytes(i), data.Channels, data.Height * data.Width), Channels,
                data.Height, data.Width, data.Channels);
            Apply(image).CopyTo(pixels.AsSpan((int)(i * outSize), (int)outSize));
        });
        return new ImageDataset(data.Name, data.Source, pixels, data.Labels.ToArray(), Channels, Height, Width, data.ClassNames);
    }

    // Grey to RGB repeats the plane; RGB to grey is ImageDecoder's luma.
    private byte[] ConvertChannels(ReadOnlySpan<byte> planes, int channels, int pixels)
    {
        if (channels == Channels) return planes.ToArray();
        var output = new byte[Channels * pixels];
        if (Channels == 3)
        {
            for (int c = 0; c < 3; c++) planes[..pixels].CopyTo(output.AsSpan(c * pixels));
            return output;
        }
        for (int i = 0; i < pixels; i++) output[i] = ImageDecoder.Luma(planes[i], planes[pixels + i], planes[2 * pixels + i]);
        return output;
    }

    /// <summary>Parses "N" (N x N) or "HxW".</summary>
    public static (int Height, int Width) ParseSize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Trim().ToLowerInvariant().Split('x');
        if (parts.Length is 1 or 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int h)
            && int.TryParse(parts[^1], NumberStyles.None, CultureInfo.InvariantCulture, out int w)
            && h is >= 1 and <= 4096 && w is >= 1 and <= 4096)
            return (h, w);
        throw new ArgumentException($"image size '{text}' is not N or HxW with sides 1..4096 (e.g. 32 or 64x48)");
    }

    public override string ToString() =>
        $"{(Channels == 1 ? "grey" : "RGB")} {Height}x{Width}{(CenterCrop ? " (centre crop)" : "")}";
}
