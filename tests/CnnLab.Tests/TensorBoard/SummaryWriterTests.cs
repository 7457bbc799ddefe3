using System.Text;
using CnnLab.Training.TensorBoard;
using Xunit;

namespace CnnLab.Tests.TensorBoard;

/// <summary>
/// The event files, read back by an independent reader (<see cref="EventFileReader"/>: Python's protobuf, CRCs recomputed
/// bit by bit) and checked value for value; the CRC and the histogram against numbers worked out by hand.
/// </summary>
public class SummaryWriterTests
{
    // A 1x1 RGBA PNG (colour type 6).
    private static readonly byte[] OnePixelPng = Convert.FromBase64String(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==");

    [Fact]
    public void Crc32CIsTheCastagnoliCrcAndTheMaskRotatesAndOffsetsIt()
    {
        // The check value of CRC-32C (RFC 3720 B.4 and every CRC catalogue) and the RFC's 32 zero bytes.
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
        uint crc = 0xE3069283u;
        Assert.Equal(unchecked(((crc >> 15) | (crc << 17)) + 0xA282EAD8u), Crc32C.Masked("123456789"u8));
    }

    [Fact]
    public void AHistogramCountsEachValueInTheBucketWhoseUpperLimitReachesIt()
    {
        // min 0, max 4, two buckets of width 2: (−, 2] holds 0, 1, 2; (2, 4] holds 3, 4. NaN is left out.
        var h = HistogramSummary.Of([0f, 1f, 2f, 3f, 4f, float.NaN], buckets: 2);
        Assert.Equal((0.0, 4.0, 5.0, 10.0, 30.0), (h.Min, h.Max, h.Count, h.Sum, h.SumSquares));
        Assert.Equal([2.0, 4.0], h.BucketLimits);
        Assert.Equal([3.0, 2.0], h.BucketCounts);
        var same = HistogramSummary.Of([0.5f, 0.5f]);
        Assert.Equal([0.5], same.BucketLimits);
        Assert.Equal([2.0], same.BucketCounts);
    }

    [Fact]
    public void ScalarsHistogramsAndImagesReadBackThroughTheIndependentReader()
    {
        string dir = TinyData.TempDir("summary-writer");
        float[] weights = [-1f, -0.5f, 0f, 0.25f, 2f];
        string file;
        using (var writer = new SummaryWriter(dir))
        {
            file = writer.FilePath;
            writer.AddScalar("train/loss", 2.5, step: 1);
            writer.AddScalar("train/loss", 0.125, step: 2);
            writer.AddHistogram("weights/fc.weight", weights, step: 2, buckets: 3);
            writer.AddImage("images/pixel", OnePixelPng, step: 3);
        }
        Assert.StartsWith("events.out.tfevents.", Path.GetFileName(file));
        var events = EventFileReader.Read(file);
        Assert.Equal("brain.Event:2", events[0].GetProperty("file_version").GetString());
        Assert.True(events[0].GetProperty("wall_time").GetDouble() > 1.7e9);   // seconds since 1970, after 2023

        var values = EventFileReader.Values(events).ToList();
        Assert.Equal(4, values.Count);
        Assert.Equal((1L, "train/loss", 2.5), (values[0].Step, values[0].Value.GetProperty("tag").GetString(),
            values[0].Value.GetProperty("value").GetDouble()));
        Assert.Equal((2L, 0.125), (values[1].Step, values[1].Value.GetProperty("value").GetDouble()));

        var histo = values[2].Value;
        Assert.Equal("histo", histo.GetProperty("kind").GetString());
        Assert.Equal((-1.0, 2.0, 5.0, 0.75), (histo.GetProperty("min").GetDouble(), histo.GetProperty("max").GetDouble(),
            histo.GetProperty("num").GetDouble(), histo.GetProperty("sum").GetDouble()));
        Assert.Equal(1 + 0.25 + 0.0625 + 4, histo.GetProperty("sum_squares").GetDouble());
        Assert.Equal([0.0, 1.0, 2.0], histo.GetProperty("bucket_limit").EnumerateArray().Select(v => v.GetDouble()));
        Assert.Equal([3.0, 1.0, 1.0], histo.GetProperty("bucket").EnumerateArray().Select(v => v.GetDouble()));

        var image = values[3].Value;
        Assert.Equal((3L, "image"), (values[3].Step, image.GetProperty("kind").GetString()));
        Assert.Equal((1, 1, 4, OnePixelPng.Length), (image.GetProperty("height").GetInt32(), image.GetProperty("width").GetInt32(),
            image.GetProperty("colorspace").GetInt32(), image.GetProperty("bytes").GetInt32()));
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void TheReaderRejectsAFileWithAFlippedBit()
    {
        // The reader must be able to fail: one flipped bit in the last record's data breaks its CRC.
        string dir = TinyData.TempDir("summary-writer-bad");
        string file;
        using (var writer = new SummaryWriter(dir))
        {
            file = writer.FilePath;
            writer.AddScalar("x", 1.0, step: 1);
        }
        var bytes = File.ReadAllBytes(file);
        bytes[^6] ^= 0x01;
        File.WriteAllBytes(file, bytes);
        var run = EventFileReader.Reject(file);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("CRC mismatch", run.Stderr);
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void AnImageThatIsNotAPngIsRefusedWithItsTag()
    {
        using var writer = new SummaryWriter(TinyData.TempDir("summary-writer-png"));
        var e = Assert.Throws<ArgumentException>(() => writer.AddImage("images/x", Encoding.ASCII.GetBytes("GIF89a......................."), 1));
        Assert.Contains("'images/x' is not a PNG", e.Message);
    }
}
