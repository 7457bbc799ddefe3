using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;

namespace CnnLab.Training.TensorBoard;

/// <summary>
/// Writes TensorBoard event files: scalars, histograms and PNG images, each tagged and stamped with a step and the wall
/// time, into <c>LOGDIR/events.out.tfevents.SECONDS.HOST.PID.N</c> (TFRecord framing around Event protos:
/// <see cref="TfRecordWriter"/>, <see cref="EventEncoder"/>). View them with <c>tensorboard --logdir LOGDIR</c>.
/// </summary>
/// <remarks>
/// PyTorch: <c>torch.utils.tensorboard.SummaryWriter</c> (add_scalar, add_histogram, add_image, flush, close). One
/// difference: <see cref="AddImage"/> takes an encoded PNG, since the library draws nothing (pictures are CnnLab.Viz's).
/// Each writer starts a file of its own, so a resumed run adds a file beside the first and TensorBoard reads both.
/// Not thread-safe: one writer per training loop.
/// </remarks>
public sealed class SummaryWriter : IDisposable
{
    private static int s_files;
    private static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(2);
    private readonly TfRecordWriter _records;
    private readonly Stopwatch _sinceFlush = Stopwatch.StartNew();

    /// <summary>Creates <paramref name="logDir"/> if needed and starts a new event file in it.</summary>
    public SummaryWriter(string logDir)
    {
        ArgumentException.ThrowIfNullOrEmpty(logDir);
        Directory.CreateDirectory(logDir);
        LogDir = logDir;
        string name = string.Create(CultureInfo.InvariantCulture,
            $"events.out.tfevents.{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}.{Environment.MachineName}.{Environment.ProcessId}."
            + $"{Interlocked.Increment(ref s_files)}");
        FilePath = Path.Combine(logDir, name);
        _records = new TfRecordWriter(new FileStream(FilePath, FileMode.CreateNew, FileAccess.Write, FileShare.Read));
        _records.Write(EventEncoder.FileVersion(WallTime()));
        _records.Flush();
    }

    public string LogDir { get; }

    /// <summary>The event file this writer appends to.</summary>
    public string FilePath { get; }

    /// <summary>One point of the scalar series <paramref name="tag"/> (e.g. "train/loss") at <paramref name="step"/>.</summary>
    public void AddScalar(string tag, double value, long step) =>
        Append(EventEncoder.Scalar(WallTime(), step, tag, (float)value));

    /// <summary>The distribution of <paramref name="values"/> (e.g. a layer's weights) at <paramref name="step"/>.</summary>
    public void AddHistogram(string tag, ReadOnlySpan<float> values, long step, int buckets = HistogramSummary.DefaultBuckets) =>
        Append(EventEncoder.Histogram(WallTime(), step, tag, HistogramSummary.Of(values, buckets)));

    /// <summary>
    /// A PNG image at <paramref name="step"/>; its size and colour space are read from its IHDR chunk (PNG spec §11.2.2:
    /// width and height big-endian at bytes 16 and 20, colour type at byte 25).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="png"/> is not a PNG.</exception>
    public void AddImage(string tag, ReadOnlySpan<byte> png, long step)
    {
        ReadOnlySpan<byte> signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
        if (png.Length < 33 || !png[..8].SequenceEqual(signature) || !png[12..16].SequenceEqual("IHDR"u8))
            throw new ArgumentException($"image '{tag}' is not a PNG (no PNG signature and IHDR chunk)", nameof(png));
        int width = BinaryPrimitives.ReadInt32BigEndian(png[16..]);
        int height = BinaryPrimitives.ReadInt32BigEndian(png[20..]);
        // PNG colour types 0 grey, 4 grey + alpha, 2 RGB, 3 palette (shown as RGB), 6 RGBA → Summary.Image's 1, 2, 3, 3, 4.
        int colorspace = png[25] switch { 0 => 1, 4 => 2, 6 => 4, _ => 3 };
        Append(EventEncoder.Image(WallTime(), step, tag, height, width, colorspace, png));
    }

    /// <summary>Hands everything written so far to the operating system, for a TensorBoard that is watching.</summary>
    public void Flush()
    {
        _records.Flush();
        _sinceFlush.Restart();
    }

    public void Dispose() => _records.Dispose();

    private void Append(byte[] evt)
    {
        _records.Write(evt);
        // TensorBoard polls the files: a few seconds' delay is what PyTorch's writer gives too (flush_secs).
        if (_sinceFlush.Elapsed >= FlushInterval) Flush();
    }

    private static double WallTime() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
}
