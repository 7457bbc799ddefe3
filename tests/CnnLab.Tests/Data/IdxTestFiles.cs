using System.Buffers.Binary;
using System.IO.Compression;
using CnnLab.Data;

namespace CnnLab.Tests;

/// <summary>Builds IDX files (valid or broken) in a temporary folder that is deleted on dispose.</summary>
internal sealed class IdxTestFiles : IDisposable
{
    public IdxTestFiles()
    {
        Directory = Path.Combine(Path.GetTempPath(), "cnnlab-idx-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Directory { get; }

    public string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(Directory, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>An IDX file: magic 00 00, type, ndims, big-endian dims, then <paramref name="data"/>.</summary>
    public static byte[] Idx(int[] dims, byte[] data, byte type = IdxReader.UnsignedByte, int? ndims = null)
    {
        var bytes = new byte[4 + 4 * dims.Length + data.Length];
        bytes[2] = type;
        bytes[3] = (byte)(ndims ?? dims.Length);
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), dims[i]);
        data.CopyTo(bytes, 4 + 4 * dims.Length);
        return bytes;
    }

    /// <summary>A well-formed unsigned-byte IDX file of <paramref name="dims"/> with bytes (7i + 3) mod 256.</summary>
    public static byte[] Idx(params int[] dims)
    {
        long n = 1;
        foreach (int d in dims) n *= d;
        var data = new byte[n];
        for (int i = 0; i < n; i++) data[i] = (byte)(7 * i + 3);
        return Idx(dims, data);
    }

    public static byte[] Gzip(byte[] raw)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true)) gz.Write(raw);
        return ms.ToArray();
    }

    /// <summary>Writes the four files of a dataset: images [n, h, w] with bytes from the image index, labels i mod 10.</summary>
    public void WriteDataset(int trainCount, int testCount, int h = 28, int w = 28, bool gzip = true, string? dir = null)
    {
        dir ??= Directory;
        System.IO.Directory.CreateDirectory(dir);
        string ext = gzip ? ".gz" : "";
        foreach (var (prefix, n) in new[] { ("train", trainCount), ("t10k", testCount) })
        {
            var pixels = new byte[n * h * w];
            for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i / (h * w) * 11 + i % 17);
            var labels = new byte[n];
            for (int i = 0; i < n; i++) labels[i] = (byte)(i % 10);
            var images = Idx([n, h, w], pixels);
            var lab = Idx([n], labels);
            File.WriteAllBytes(Path.Combine(dir, $"{prefix}-images-idx3-ubyte{ext}"), gzip ? Gzip(images) : images);
            File.WriteAllBytes(Path.Combine(dir, $"{prefix}-labels-idx1-ubyte{ext}"), gzip ? Gzip(lab) : lab);
        }
    }

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}
