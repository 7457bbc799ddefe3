namespace CnnLab.Data;

/// <summary>The header facts of an image file, read before any pixel is decoded.</summary>
/// <param name="Width">Columns.</param>
/// <param name="Height">Rows.</param>
/// <param name="StoredChannels">1 grey, 2 grey + alpha, 3 colour, 4 colour + alpha (palette images count as colour).</param>
public readonly record struct ImageHeader(int Width, int Height, int StoredChannels)
{
    /// <summary>True when the file stores grey levels only (with or without alpha).</summary>
    public bool IsGrey => StoredChannels <= 2;
}
