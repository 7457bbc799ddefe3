namespace CnnLab.Data;

/// <summary>A decoded image: [<see cref="Channels"/>, <see cref="Height"/>, <see cref="Width"/>] bytes.</summary>
/// <param name="Pixels">The bytes, plane after plane.</param>
/// <param name="Channels">1 (grey) or 3 (RGB).</param>
/// <param name="Height">Rows.</param>
/// <param name="Width">Columns.</param>
/// <param name="StoredChannels">What the file stored (1–4), before conversion to <see cref="Channels"/>.</param>
public sealed record DecodedImage(byte[] Pixels, int Channels, int Height, int Width, int StoredChannels);
