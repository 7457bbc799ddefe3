using System.Globalization;

namespace CnnLab.IO;

/// <summary>
/// The sizes every input is checked against, from its header or its shape arithmetic, before anything is allocated:
/// a model's parameters, one batch's activations, an image's pixels, a text file's bytes. Each can be raised (or
/// lowered) by an environment variable; a violation is an <see cref="ArgumentException"/> whose message names the
/// budget and the variable, which the CLI prints on one line with exit code 2.
/// </summary>
public static class Budgets
{
    /// <summary>Parameters of one model: 500 million (2 GB of float32 weights; Adam keeps two more copies).</summary>
    public static long MaxParameters => Read("CNNLAB_MAX_PARAMETERS", 500_000_000);

    /// <summary>Bytes of a forward pass's activations for one batch (every layer's output summed): 8 GiB.</summary>
    public static long MaxActivationBytes => Read("CNNLAB_MAX_ACTIVATION_BYTES", 8L << 30);

    /// <summary>Pixels of one image to decode: 100 million (a 10000 x 10000 picture).</summary>
    public static long MaxImagePixels => Read("CNNLAB_MAX_IMAGE_PIXELS", 100_000_000);

    /// <summary>Bytes of a JSON file (a model spec, <c>config.json</c>, <c>state.json</c>): 64 MiB.</summary>
    public static long MaxTextFileBytes => Read("CNNLAB_MAX_TEXT_FILE_BYTES", 64L << 20);

    /// <summary>Throws unless <paramref name="parameters"/> fits <see cref="MaxParameters"/>.</summary>
    public static void CheckParameters(long parameters, string what) =>
        Check(parameters, MaxParameters, what, "parameters", "CNNLAB_MAX_PARAMETERS");

    /// <summary>Throws unless <paramref name="bytes"/> of activations fit <see cref="MaxActivationBytes"/>.</summary>
    public static void CheckActivationBytes(long bytes, string what) =>
        Check(bytes, MaxActivationBytes, what, "bytes of activations", "CNNLAB_MAX_ACTIVATION_BYTES");

    /// <summary>Throws unless a <paramref name="width"/> x <paramref name="height"/> image fits <see cref="MaxImagePixels"/>.</summary>
    public static void CheckImage(long width, long height, string what) =>
        Check(width * height, MaxImagePixels, $"{what} ({width}x{height})", "pixels", "CNNLAB_MAX_IMAGE_PIXELS");

    /// <summary>
    /// Reads a UTF-8 text file of at most <see cref="MaxTextFileBytes"/>, stopping as soon as it is longer (so a device
    /// such as /dev/zero or a huge file is refused, not read).
    /// </summary>
    public static string ReadTextFile(string path, string what)
    {
        long limit = MaxTextFileBytes;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16);
            using var buffer = new MemoryStream();
            var chunk = new byte[1 << 16];
            int read;
            while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
            {
                if (buffer.Length + read > limit)
                    throw new InvalidFileException(path, $"{what} is larger than the budget of {limit:N0} bytes; " +
                        "set CNNLAB_MAX_TEXT_FILE_BYTES to raise it");
                buffer.Write(chunk, 0, read);
            }
            var text = new System.Text.UTF8Encoding(false, true).GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
            return text.StartsWith('\uFEFF') ? text[1..] : text;   // a byte-order mark, as File.ReadAllText drops it
        }
        catch (System.Text.DecoderFallbackException)
        {
            throw new InvalidFileException(path, $"{what} is not UTF-8 text");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidFileException(path, $"cannot read {what}: {e.Message}", e);
        }
    }

    private static void Check(long need, long budget, string what, string unit, string variable)
    {
        if (need < 0 || need > budget)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"{what} needs {(need < 0 ? "more than 2^63" : need.ToString("N0", CultureInfo.InvariantCulture))} {unit}, " +
                $"over the budget of {budget:N0}; set {variable} to raise it"));
    }

    private static long Read(string variable, long fallback)
    {
        var text = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrWhiteSpace(text)) return fallback;
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value) && value > 0) return value;
        throw new ArgumentException($"environment variable {variable} must be a positive whole number, got '{text}'");
    }
}
