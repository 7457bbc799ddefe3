using System.Buffers.Binary;
using System.IO.Compression;

namespace CnnLab.Data;

/// <summary>
/// Tells a gzip file of several members one after another (what <c>cat a.gz b.gz</c> makes; valid by RFC 1952, §2.2)
/// from a cut-off or damaged one, when its last trailer's ISIZE does not match the whole decompressed length. The
/// members' starts are found where a gzip header begins and every member's ISIZE matches the bytes it decompresses to;
/// a file missing its trailer, or cut inside its data, has no such chain.
/// </summary>
internal static class GzipMembers
{
    private const int MinMember = 18;      // 10-byte header + 8-byte trailer
    private const int MaxCandidates = 64;  // gzip headers found inside the data; a real file has a few members

    /// <summary>
    /// True when the gzip data from <paramref name="start"/> to the stream's end is whole members that decompress to
    /// <paramref name="total"/> bytes (each one's CRC is checked by the decompressor as it reads).
    /// </summary>
    public static bool AreWhole(Stream stream, long start, long total, long maxBytes)
    {
        long end = stream.Length;
        var candidates = HeaderOffsets(stream, start + 1, end - MinMember);
        if (candidates.Count is 0 or > MaxCandidates) return false;
        // What the members from each offset to the end decompress to.
        var lengths = new SortedDictionary<long, long> { [start] = total };
        foreach (long k in candidates)
        {
            long length = DecompressedLength(stream, k, maxBytes);
            if (length >= 0 && length < total) lengths[k] = length;
        }
        uint lastSize = ReadUInt32(stream, end - 4);
        // From the end backwards: an offset starts whole members when it starts the last one, or a member whose size
        // (its length less the next start's) is the ISIZE just before that next start.
        var whole = new List<long>();
        foreach (long b in lengths.Keys.Reverse())
        {
            bool last = b != start && (uint)lengths[b] == lastSize;
            if (last || whole.Any(n => (uint)(lengths[b] - lengths[n]) == ReadUInt32(stream, n - 4))) whole.Add(b);
        }
        return whole.Contains(start);
    }

    // Offsets in [from, to] where a gzip member header can begin: 1f 8b, deflate (8), no reserved flag bits.
    private static List<long> HeaderOffsets(Stream stream, long from, long to)
    {
        var found = new List<long>();
        if (to < from) return found;
        var buffer = new byte[1 << 20];
        for (long at = from; at <= to && found.Count <= MaxCandidates; at += buffer.Length - 3)
        {
            stream.Position = at;
            int n = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            for (int i = 0; i + 3 < n && at + i <= to; i++)
                if (buffer[i] == 0x1f && buffer[i + 1] == 0x8b && buffer[i + 2] == 8 && (buffer[i + 3] & 0xe0) == 0) found.Add(at + i);
            if (n < buffer.Length) break;
        }
        return found;
    }

    // Bytes the members from offset k to the end decompress to, or -1 when they are not gzip data.
    private static long DecompressedLength(Stream stream, long k, long maxBytes)
    {
        stream.Position = k;
        var scratch = new byte[1 << 16];
        long total = 0;
        try
        {
            using var gz = new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true);
            int n;
            while (total <= maxBytes && (n = gz.Read(scratch, 0, scratch.Length)) > 0) total += n;
            return total;
        }
        catch (InvalidDataException) { return -1; }
    }

    private static uint ReadUInt32(Stream stream, long at)
    {
        Span<byte> four = stackalloc byte[4];
        stream.Position = at;
        stream.ReadExactly(four);
        return BinaryPrimitives.ReadUInt32LittleEndian(four);
    }
}
