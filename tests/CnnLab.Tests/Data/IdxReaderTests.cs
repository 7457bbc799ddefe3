using CnnLab.Data;
using Xunit;
using static CnnLab.Tests.IdxTestFiles;
using CnnLab.IO;

namespace CnnLab.Tests;

public class IdxReaderTests
{
    // A complete gzip member holding zero bytes (.NET's GZipStream writes nothing at all for empty input).
    private static readonly byte[] EmptyGzip = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    private static byte[] Cut(byte[] bytes, int length) => bytes[..length];

    private static byte[] Flip(byte[] bytes, int at)
    {
        var copy = (byte[])bytes.Clone();
        copy[at] ^= 0x5A;
        return copy;
    }

    /// <summary>Each malformed file, and a key part of the message it must give.</summary>
    public static TheoryData<string, byte[], string> Malformed() => new()
    {
        { "empty", [], "0 bytes long, shorter than the 4-byte IDX header" },
        { "three bytes", [0, 0, 8], "3 bytes long, shorter than the 4-byte IDX header" },
        { "wrong magic", [0x12, 0x34, 8, 1, 0, 0, 0, 1, 5], "wrong magic bytes 12 34" },
        { "png file", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "wrong magic bytes 89 50 4E 47" },
        { "float32 type", Idx([2], new byte[8], type: 0x0D), "data type 0x0D (float32) is not supported" },
        { "int32 type", Idx([2], new byte[8], type: 0x0C), "data type 0x0C (int32) is not supported" },
        { "unknown type", Idx([2], new byte[2], type: 0x07), "data type 0x07 (unknown" },
        { "zero dimensions", Idx([], [1, 2, 3]), "declares 0 dimensions; expected 1 to 4" },
        { "five dimensions", Idx([1, 1, 1, 1, 1], [9]), "declares 5 dimensions; expected 1 to 4" },
        { "dims cut off", Cut(Idx(2, 3, 4), 12), "declares 3 dimensions and needs 16 bytes, but the file has only 12" },
        { "zero dimension", Idx([2, 0, 28], []), "dimension 1 is 0; every dimension must be positive" },
        { "negative dimension", Idx([-1], [1]), "dimension 0 is -1; every dimension must be positive" },
        { "data too short", Idx([2, 28, 28], new byte[1000]),
            "need 1,568 data bytes, but the file has only 1,000 bytes after the 16-byte header" },
        { "trailing garbage", Idx([3], new byte[5]),
            "trailing garbage: dims 3 need 3 data bytes, but the file has 5 after the 8-byte header (2 extra bytes)" },
        { "huge dims in a small raw file", Idx([60000, 28, 28, 1000], new byte[64]),
            "dims 60000 x 28 x 28 x 1000 need 47,040,000,000 data bytes, but the file has only 64" },
        { "gzip cut to its magic", [0x1F, 0x8B], "truncated gzip file: 2 bytes, a gzip stream needs at least 18" },
        { "gzip cut in half", Cut(Gzip(Idx(40, 28, 28)), Gzip(Idx(40, 28, 28)).Length / 2), "truncated or corrupt gzip" },
        { "gzip missing its trailer", Cut(Gzip(Idx(4, 5)), Gzip(Idx(4, 5)).Length - 8), "decompressed bytes, but its trailer (ISIZE) says" },
        { "gzip with bytes after the stream", [.. Gzip(Idx(4, 5)), 1, 2, 3, 4, 5], "has bytes after the gzip data" },
        { "gzip with a damaged checksum", Flip(Gzip(Idx(4, 5)), Gzip(Idx(4, 5)).Length - 6), "corrupt gzip data" },
        { "gzip of an empty payload", EmptyGzip, "decompressed data is 0 bytes long, shorter than the 4-byte IDX header" },
        { "gzip of a wrong magic", Gzip([1, 2, 8, 1, 0, 0, 0, 1, 7]), "wrong magic bytes 01 02" },
        { "gzip of a float32 file", Gzip(Idx([1], new byte[4], type: 0x0D)), "0x0D (float32) is not supported" },
        { "gzip with short data", Gzip(Idx([2, 28, 28], new byte[100])),
            "need 1,568 data bytes, but the decompressed data has only 100 after the 16-byte header" },
        { "gzip with trailing garbage", Gzip(Idx([3], new byte[10])),
            "trailing garbage: dims 3 need 3 data bytes, but the decompressed data has 7 more after them" },
        { "gzip claiming more than 1 GiB", Gzip(Idx([60000, 28, 28, 100], new byte[10])),
            "claim 4,704,000,000 data bytes, more than the 1,073,741,824-byte (1 GiB) limit" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void MalformedFileGivesItsOwnClearError(string what, byte[] bytes, string expected)
    {
        using var files = new IdxTestFiles();
        var path = files.Write(what.Replace(' ', '-') + ".idx", bytes);
        var e = Assert.Throws<InvalidFileException>(() => IdxReader.Read(path));
        Assert.Equal(path, e.FilePath);
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(expected, e.Problem);
    }

    [Fact]
    public void MalformedCasesAreManyAndDistinct()
    {
        var messages = Malformed().Select(row => (string)row[2]).ToList();
        Assert.True(messages.Count >= 15, $"only {messages.Count} malformed cases");
        Assert.Equal(messages.Count, messages.Distinct().Count());
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void SeveralGzipMembersReadAsOneFile(int members)
    {
        // What `cat a.gz b.gz` makes (RFC 1952 §2.2): the pieces of one IDX file, each compressed on its own.
        using var files = new IdxTestFiles();
        var raw = Idx(3, 50, 70);
        var cuts = Enumerable.Range(0, members + 1).Select(i => raw.Length * i / members).ToArray();
        var joined = Enumerable.Range(0, members).SelectMany(i => Gzip(raw[cuts[i]..cuts[i + 1]])).ToArray();
        var r = IdxReader.Read(files.Write($"members-{members}.gz", joined));
        Assert.Equal(IdxReader.Read(files.Write("whole", raw)).Data, r.Data);
        // The same file missing its last trailer, or cut in its last member's data, is still refused.
        Assert.Throws<InvalidFileException>(() => IdxReader.Read(files.Write("no-trailer.gz", joined[..^8])));
        Assert.Throws<InvalidFileException>(() => IdxReader.Read(files.Write("cut.gz", joined[..^40])));
    }

    [Fact]
    public void GzipAndRawReadTheSame()
    {
        using var files = new IdxTestFiles();
        var raw = Idx(3, 5, 7);
        var a = IdxReader.Read(files.Write("a-raw.gz", raw)); // gzip is detected by content, not by name
        var b = IdxReader.Read(files.Write("b-gzip", Gzip(raw)));
        Assert.Equal([3, 5, 7], a.Dims);
        Assert.Equal(a.Dims, b.Dims);
        Assert.Equal(a.Data, b.Data);
        Assert.Equal(3, a.Count);
        Assert.Equal((byte)3, a.Data[0]);
        Assert.Equal(unchecked((byte)(7 * 104 + 3)), a.Data[104]);
    }

    [Fact]
    public void ReadsEveryRankFromOneToFour()
    {
        using var files = new IdxTestFiles();
        foreach (var dims in new[] { new[] { 6 }, [2, 3], [1, 2, 3], [2, 1, 2, 2] })
        {
            var r = IdxReader.Read(files.Write($"rank{dims.Length}", Gzip(Idx(dims))));
            Assert.Equal(dims, r.Dims);
            Assert.Equal(dims.Aggregate(1, (p, d) => p * d), r.Data.Length);
        }
    }

    [Fact]
    public void ReadsFromANonSeekableStream()
    {
        var bytes = Gzip(Idx(2, 3));
        var r = IdxReader.Read(new NonSeekableStream(bytes), "pipe");
        Assert.Equal([2, 3], r.Dims);
        var e = Assert.Throws<InvalidFileException>(() => IdxReader.Read(new NonSeekableStream([9, 9, 9, 9]), "pipe"));
        Assert.Equal("pipe", e.FilePath);
    }

    [Fact]
    public void LyingHeaderDoesNotAllocateWhatItClaims()
    {
        // 1,000,000,000 bytes claimed (under the 1 GiB cap), 1,000 present: the reader must notice
        // from the data, having allocated no more than its small initial buffer.
        using var files = new IdxTestFiles();
        var gz = files.Write("liar.gz", Gzip(Idx([1000, 1000, 1000], new byte[1000])));
        var raw = files.Write("liar", Idx([1000, 1000, 1000], new byte[1000]));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e1 = Assert.Throws<InvalidFileException>(() => IdxReader.Read(gz));
        var e2 = Assert.Throws<InvalidFileException>(() => IdxReader.Read(raw));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("need 1,000,000,000 data bytes, but the decompressed data has only 1,000", e1.Problem);
        Assert.Contains("need 1,000,000,000 data bytes, but the file has only 1,000", e2.Problem);
        Assert.True(allocated < 10_000_000, $"allocated {allocated:N0} bytes reading a lying header");
    }

    [Fact]
    public void GzipBombUnderTheCapIsReadOnlyAsFarAsTheHeaderAllows()
    {
        // 16 MB of zeros compress to ~16 KB; the header claims 16 bytes of data.
        using var files = new IdxTestFiles();
        var payload = new byte[16 << 20];
        Idx([16], []).CopyTo(payload, 0);
        var path = files.Write("bomb.gz", Gzip(payload));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidFileException>(() => IdxReader.Read(path));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("trailing garbage", e.Problem);
        Assert.True(allocated < 10_000_000, $"allocated {allocated:N0} bytes reading a zip bomb");
    }

    private sealed class NonSeekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
