using System.Buffers.Binary;
using CnnLab.Data;

namespace CnnLab.Tests;

/// <summary>Writes small IDX data sets (slices of the embedded Fashion-MNIST subset) to temporary folders.</summary>
public static class TinyData
{
    private static readonly Lazy<TrainTestSplit> Subset = new(FashionMnist.LoadEmbeddedSubset);

    /// <summary>A folder with the four IDX files holding every k-th image of the subset (stratified, all classes).</summary>
    public static string Folder(int train, int test)
    {
        var dir = Path.Combine(Path.GetTempPath(), "cnnlab-tests", $"tiny-{train}-{test}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        Write(dir, "train", Pick(Subset.Value.Train, train));
        Write(dir, "t10k", Pick(Subset.Value.Test, test));
        return dir;
    }

    /// <summary>A fresh, empty temporary folder.</summary>
    public static string TempDir(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), "cnnlab-tests", $"{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static ImageDataset Pick(ImageDataset d, int count)
    {
        int step = Math.Max(1, d.Count / count);
        return d.Subset(Enumerable.Range(0, count).Select(i => (i * step) % d.Count).ToArray());
    }

    private static void Write(string dir, string prefix, ImageDataset d)
    {
        using (var f = File.Create(Path.Combine(dir, $"{prefix}-images-idx3-ubyte")))
        {
            f.Write(Header(3, d.Count, d.Height, d.Width));
            f.Write(d.Pixels);
        }
        using (var f = File.Create(Path.Combine(dir, $"{prefix}-labels-idx1-ubyte")))
        {
            f.Write(Header(1, d.Count));
            foreach (int label in d.Labels) f.WriteByte((byte)label);
        }
    }

    private static byte[] Header(byte dims, params int[] sizes)
    {
        var h = new byte[4 + 4 * sizes.Length];
        h[2] = 0x08;
        h[3] = dims;
        for (int i = 0; i < sizes.Length; i++) BinaryPrimitives.WriteInt32BigEndian(h.AsSpan(4 + 4 * i), sizes[i]);
        return h;
    }
}
