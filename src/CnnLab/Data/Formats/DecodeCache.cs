using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using CnnLab.IO;

namespace CnnLab.Data;

/// <summary>
/// A file of decoded images, so that an image folder is decoded once. Its name is a SHA-256 of everything the pixels
/// depend on: the options asked for (channels, size, crop; "auto" stays "auto", so a hit reads no image header), the skip
/// rule, and each file's path, label, size and modification time (a changed, added or removed file makes a new key).
/// Layout, little-endian: "CNNLABDC", int32 version, int32 files, int32 kept, int32 C, H, W, kept int32 labels, int32
/// bad count with (int32 index, int32 length, UTF-8 message) each, then kept·C·H·W pixel bytes. A cache is input like any
/// file: sizes are checked against the file's length before anything is allocated, and one that does not fit its key is
/// decoded again (with a note), never trusted.
/// </summary>
internal static class DecodeCache
{
    private const int Version = 1;
    private static ReadOnlySpan<byte> Magic => "CNNLABDC"u8;

    /// <summary>
    /// The decoded set for these files: from the cache when it holds them, else from <paramref name="decode"/> (then
    /// cached). Without a cache folder, always decoded.
    /// </summary>
    public static (ImagePreprocessing Prep, (byte[] Pixels, int[] Labels, List<BadImage> Bad) Decoded) Load((string Path, int Label)[] files,
        DatasetOptions options, ICollection<string> notes, Func<(ImagePreprocessing, (byte[], int[], List<BadImage>))> decode)
    {
        if (options.CacheDirectory is null) return decode();
        string path = PathFor(files, options);
        if (File.Exists(path))
        {
            try
            {
                var hit = Read(path, files.Length, options);
                notes.Add($"decoded images read from the cache {path}");
                return hit;
            }
            catch (InvalidFileException e)
            {
                notes.Add($"the image cache {path} is damaged ({e.Problem}); decoding again");
            }
        }
        var (prep, decoded) = decode();
        try
        {
            Directory.CreateDirectory(options.CacheDirectory);
            AtomicFile.Write(path, s => Write(s, files.Length, prep, decoded));
            notes.Add($"decoded images cached in {path}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            notes.Add($"could not write the image cache in {options.CacheDirectory} ({e.Message}); images are decoded each run");
        }
        return (prep, decoded);
    }

    internal static string PathFor((string Path, int Label)[] files, DatasetOptions o)
    {
        var key = new StringBuilder($"v{Version}|{o.Channels}|{o.Height}|{o.Width}|{o.CenterCrop}|{o.SkipBadImages}\n");
        foreach (var (file, label) in files)
        {
            var info = new FileInfo(file);
            key.Append(Path.GetFullPath(file)).Append('|').Append(label).Append('|').Append(info.Length).Append('|')
                .Append(info.LastWriteTimeUtc.Ticks).Append('\n');
        }
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key.ToString())));
        return Path.Combine(o.CacheDirectory!, $"images-{hash[..32]}.cache");
    }

    private static void Write(Stream s, int files, ImagePreprocessing prep, (byte[] Pixels, int[] Labels, List<BadImage> Bad) d)
    {
        using var w = new BinaryWriter(s, Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        foreach (int v in new[] { Version, files, d.Labels.Length, prep.Channels, prep.Height, prep.Width }) w.Write(v);
        foreach (int label in d.Labels) w.Write(label);
        w.Write(d.Bad.Count);
        foreach (var bad in d.Bad)
        {
            var message = Encoding.UTF8.GetBytes(bad.Message);
            w.Write(bad.Index);
            w.Write(message.Length);
            w.Write(message);
        }
        w.Write(d.Pixels);
    }

    private static (ImagePreprocessing, (byte[], int[], List<BadImage>)) Read(string path, int files, DatasetOptions options)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        using var r = new BinaryReader(stream);
        long length = stream.Length;
        void Check(bool ok, string problem)
        {
            if (!ok) throw new InvalidFileException(path, problem);
        }
        Check(length >= 36, "shorter than its header");
        Check(r.ReadBytes(8).AsSpan().SequenceEqual(Magic), "does not start with CNNLABDC");
        Check(r.ReadInt32() == Version, "is of another version");
        int count = r.ReadInt32(), kept = r.ReadInt32(), c = r.ReadInt32(), h = r.ReadInt32(), w = r.ReadInt32();
        Check(count == files && kept >= 0 && kept <= files, $"holds {count} files, expected {files}");
        Check(c is 1 or 3 && h is >= 1 and <= 4096 && w is >= 1 and <= 4096, $"holds images of {c}x{h}x{w}");
        Check((options.Channels == 0 || c == options.Channels) && (options.Height == 0 || (h == options.Height && w == options.Width)),
            $"holds {c}x{h}x{w} images, not what was asked for");
        Check(length - stream.Position >= 4L * kept + 4, "ends inside its labels");
        var labels = new int[kept];
        for (int i = 0; i < kept; i++) labels[i] = r.ReadInt32();
        int badCount = r.ReadInt32();
        Check(badCount == files - kept, $"lists {badCount} bad images for {files - kept} missing");
        var bad = new List<BadImage>();
        for (int i = 0; i < badCount; i++)
        {
            Check(length - stream.Position >= 8, "ends inside its list of bad images");
            int index = r.ReadInt32(), size = r.ReadInt32();
            Check(index >= 0 && index < files && size >= 0 && size <= length - stream.Position, "has a damaged list of bad images");
            bad.Add(new BadImage(index, Encoding.UTF8.GetString(r.ReadBytes(size))));
        }
        long pixelBytes = (long)kept * c * h * w;
        Check(length - stream.Position == pixelBytes, $"holds {length - stream.Position} pixel bytes, expected {pixelBytes}");
        var pixels = new byte[pixelBytes];
        stream.ReadExactly(pixels);
        return (new ImagePreprocessing(c, h, w, options.CenterCrop), (pixels, labels, bad));
    }
}
