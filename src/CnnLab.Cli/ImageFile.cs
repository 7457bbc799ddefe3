namespace CnnLab.Cli;

/// <summary>Reads an image file as 28x28 grayscale bytes (decoding arrives with the imaging library).</summary>
internal static class ImageFile
{
    public static byte[] ReadGray28(string path) =>
        throw new UsageException($"reading image files is not available in this build; use --index N ({path})");
}
