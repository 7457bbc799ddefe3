using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using CnnLab.IO;

namespace CnnLab.Data;

/// <summary>An unsigned-byte IDX array: its dimensions (outermost first) and its bytes, row-major.</summary>
public sealed record IdxArray(int[] Dims, byte[] Data)
{
    /// <summary>Size of the first dimension (the number of images or labels).</summary>
    public int Count => Dims[0];
}

/// <summary>
/// Reads IDX files, the format of MNIST, Fashion-MNIST and KMNIST (LeCun et al., "The MNIST
/// database of handwritten digits", 1998), raw or gzip-compressed. The layout:
/// <code>
/// bytes 0-1   00 00            magic
/// byte  2     type             0x08 unsigned byte (the only type read here; 0x09 sbyte,
///                              0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64 are named and refused)
/// byte  3     ndims            1..4 here
/// 4*ndims     dims             big-endian int32, each positive
/// rest        data             prod(dims) bytes, nothing after them
/// </code>
/// Gzip is recognized by its magic bytes 1F 8B, not by the file name. Every violation is an
/// <see cref="InvalidFileException"/> naming the file and what was expected. Nothing is allocated
/// from the header's claims before they are checked: a raw file's claim against the file length; a
/// gzip file's claim against <see cref="MaxDataBytes"/>, and the buffer then grows only as
/// decompressed bytes actually arrive, so a lying header or a zip bomb cannot make the reader
/// allocate more than about twice the data really present (and never more than the cap).
/// </summary>
/// <remarks>PyTorch: <c>torchvision.datasets.mnist.read_sn3_pascalvincent_tensor</c>, which trusts the
/// header; CnnLab validates it and reads only unsigned bytes.</remarks>
public static class IdxReader
{
    /// <summary>Largest data section accepted (1 GiB): full MNIST-like sets are about 47 MB.</summary>
    public const long MaxDataBytes = 1L << 30;

    /// <summary>Largest number of dimensions accepted.</summary>
    public const int MaxDims = 4;

    /// <summary>Type code of unsigned bytes, the only data type read.</summary>
    public const byte UnsignedByte = 0x08;

    private const int GzipMinLength = 18; // 10-byte member header + 8-byte trailer (CRC32, ISIZE)
    private const int GzipInitialBuffer = 4 << 20;

    /// <summary>Reads the IDX file at <paramref name="path"/> (raw or gzip).</summary>
    public static IdxArray Read(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Read(fs, path);
    }

    /// <summary>
    /// Reads an IDX array from <paramref name="stream"/> (raw or gzip, read to its end);
    /// <paramref name="name"/> names it in error messages. A stream that cannot seek is copied to memory first.
    /// </summary>
    public static IdxArray Read(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        if (!stream.CanSeek)
        {
            var copy = new MemoryStream();
            stream.CopyTo(copy);
            copy.Position = 0;
            stream = copy;
        }
        long start = stream.Position;
        long length = stream.Length - start;
        Span<byte> magic = stackalloc byte[2];
        int got = stream.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
        stream.Position = start;
        return got == 2 && magic[0] == 0x1F && magic[1] == 0x8B
            ? ReadGzip(stream, length, name)
            : ReadRaw(stream, length, name);
    }

    private static IdxArray ReadRaw(Stream stream, long length, string name)
    {
        var (dims, headerBytes) = ReadHeader(stream, name, gzip: null);
        long available = length - headerBytes;
        UInt128 need = Product(dims);
        if (need > (UInt128)available)
            throw Bad(name, $"dims {FormatDims(dims)} need {need:N0} data bytes, "
                + $"but the file has only {available:N0} bytes after the {headerBytes}-byte header (file truncated?)");
        if (need < (UInt128)available)
            throw Bad(name, $"trailing garbage: dims {FormatDims(dims)} need {need:N0} data bytes, "
                + $"but the file has {available:N0} after the {headerBytes}-byte header ({(UInt128)available - need:N0} extra bytes)");
        if (need > MaxDataBytes)
            throw Bad(name, $"dims {FormatDims(dims)} hold {need:N0} bytes, more than the {MaxDataBytes:N0}-byte (1 GiB) limit of this reader");
        var data = new byte[(int)need];
        stream.ReadExactly(data);
        return new IdxArray(dims, data);
    }

    private static IdxArray ReadGzip(Stream stream, long length, string name)
    {
        if (length < GzipMinLength)
            throw Bad(name, $"truncated gzip file: {length} bytes, a gzip stream needs at least {GzipMinLength}");
        // ISIZE, the gzip trailer's last 4 bytes: the uncompressed length mod 2^32 (RFC 1952).
        // .NET's GZipStream reports a cut-off stream as a normal end, so this is how truncation is seen.
        long start = stream.Position;
        stream.Position = start + length - 4;
        Span<byte> trailer = stackalloc byte[4];
        stream.ReadExactly(trailer);
        uint isize = BinaryPrimitives.ReadUInt32LittleEndian(trailer);
        stream.Position = start;
        try
        {
            using var gz = new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true);
            var counter = new GzipCheck(name, isize);
            var (dims, headerBytes) = ReadHeader(gz, name, counter);
            UInt128 need = Product(dims);
            if (need > MaxDataBytes)
                throw Bad(name,
                    $"dims {FormatDims(dims)} claim {need:N0} data bytes, more than the {MaxDataBytes:N0}-byte (1 GiB) limit of this reader");
            int needBytes = (int)need;
            // Allocate all at once only when the trailer agrees with the header and deflate's maximum
            // ratio (1032:1) makes the claim possible; otherwise grow as bytes actually arrive.
            bool plausible = (uint)(headerBytes + needBytes) == isize && need <= (UInt128)length * 1032;
            var data = new byte[plausible ? needBytes : Math.Min(needBytes, GzipInitialBuffer)];
            int filled = 0;
            while (true)
            {
                int n = gz.Read(data, filled, data.Length - filled);
                if (n == 0) break;
                filled += n;
                if (filled == data.Length)
                {
                    if (filled == needBytes) break;
                    Array.Resize(ref data, (int)Math.Min(needBytes, 2L * data.Length));
                }
            }
            counter.Add(headerBytes + filled);
            if (filled < needBytes)
            {
                counter.ThrowIfTruncated();
                throw Bad(name, $"dims {FormatDims(dims)} need {needBytes:N0} data bytes, "
                    + $"but the decompressed data has only {filled:N0} after the {headerBytes}-byte header");
            }
            long extra = Drain(gz);
            counter.Add(extra);
            // The last trailer covers the last member only: several members (cat a.gz b.gz) are whole input too.
            if (!counter.Matches && !GzipMembers.AreWhole(stream, start, counter.Total, MaxDataBytes)) counter.ThrowIfTruncated();
            if (extra > 0)
                throw Bad(name, $"trailing garbage: dims {FormatDims(dims)} need {needBytes:N0} data bytes, "
                    + $"but the decompressed data has {extra:N0} more after them");
            return new IdxArray(dims, data);
        }
        catch (InvalidDataException e)
        {
            throw Bad(name, $"corrupt gzip data ({e.Message})", e);
        }
        catch (EndOfStreamException e)
        {
            throw Bad(name, $"truncated gzip data ({e.Message})", e);
        }
    }

    /// <summary>Reads magic, type, ndims and dims; returns the dims and the header's size in bytes.</summary>
    private static (int[] Dims, int HeaderBytes) ReadHeader(Stream s, string name, GzipCheck? gzip)
    {
        Span<byte> head = stackalloc byte[4 + 4 * MaxDims];
        int got = s.ReadAtLeast(head[..4], 4, throwOnEndOfStream: false);
        if (got < 4)
        {
            gzip?.Add(got);
            gzip?.ThrowIfTruncated();
            throw Bad(name,
                $"{(gzip is null ? "file" : "decompressed data")} is {got} bytes long, shorter than the 4-byte IDX header (00 00 type ndims)");
        }
        if (head[0] != 0 || head[1] != 0)
            throw Bad(name, $"wrong magic bytes {head[0]:X2} {head[1]:X2} {head[2]:X2} {head[3]:X2}: "
                + "an IDX file starts with 00 00, then the type code and the number of dimensions");
        byte type = head[2];
        if (type != UnsignedByte)
            throw Bad(name, $"data type 0x{type:X2} {TypeName(type)} is not supported: CnnLab reads unsigned-byte (0x08) IDX files");
        int ndims = head[3];
        if (ndims < 1 || ndims > MaxDims)
            throw Bad(name, $"header declares {ndims} dimensions; expected 1 to {MaxDims}");
        int headerBytes = 4 + 4 * ndims;
        int dimsGot = s.ReadAtLeast(head[4..headerBytes], 4 * ndims, throwOnEndOfStream: false);
        if (dimsGot < 4 * ndims)
        {
            gzip?.Add(4 + dimsGot);
            gzip?.ThrowIfTruncated();
            throw Bad(name, $"header declares {ndims} dimensions and needs {headerBytes} bytes, "
                + $"but the {(gzip is null ? "file" : "decompressed data")} has only {4 + dimsGot}");
        }
        var dims = new int[ndims];
        for (int i = 0; i < ndims; i++)
        {
            dims[i] = BinaryPrimitives.ReadInt32BigEndian(head.Slice(4 + 4 * i, 4));
            if (dims[i] <= 0)
                throw Bad(name, $"dimension {i} is {dims[i]}; every dimension must be positive (dims {FormatDims(dims[..(i + 1)])}...)");
        }
        return (dims, headerBytes);
    }

    private static string TypeName(byte type) => type switch
    {
        0x09 => "(signed byte)",
        0x0B => "(int16)",
        0x0C => "(int32)",
        0x0D => "(float32)",
        0x0E => "(float64)",
        _ => "(unknown; IDX type codes are 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E)",
    };

    private static UInt128 Product(int[] dims)
    {
        UInt128 p = 1;
        foreach (int d in dims) p *= (uint)d; // 4 dims below 2^31 each stay below 2^124
        return p;
    }

    /// <summary>
    /// Reads the rest of <paramref name="s"/> into a small pooled scratch buffer, up to <see cref="MaxDataBytes"/>; returns the count.
    /// </summary>
    private static long Drain(Stream s)
    {
        byte[] scratch = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            long total = 0;
            int n;
            while (total <= MaxDataBytes && (n = s.Read(scratch, 0, scratch.Length)) > 0) total += n;
            return total;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    internal static string FormatDims(ReadOnlySpan<int> dims) => string.Join(" x ", dims.ToArray());

    private static InvalidFileException Bad(string name, string problem, Exception? inner = null) => new(name, problem, inner);

    /// <summary>Counts decompressed bytes and compares them with the gzip trailer's ISIZE.</summary>
    private sealed class GzipCheck(string name, uint isize)
    {
        private long _total;

        public void Add(long bytes) => _total += bytes;

        public long Total => _total;

        public bool Matches => (uint)_total == isize;

        public void ThrowIfTruncated()
        {
            if ((uint)_total != isize)
                throw Bad(name, $"truncated or corrupt gzip: the stream ends after {_total:N0} decompressed bytes, "
                    + $"but its trailer (ISIZE) says {isize:N0} (the file was cut off, damaged, or has bytes after the gzip data)");
        }
    }
}
