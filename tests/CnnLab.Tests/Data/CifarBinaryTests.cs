using CnnLab.Data;
using CnnLab.IO;
using Xunit;

namespace CnnLab.Tests;

public class CifarBinaryTests
{
    /// <summary>CIFAR-10 records: label i mod 10, then pixel j of image i = (i + 3j) mod 256 (R plane, G plane, B plane).</summary>
    internal static string Cifar10(int trainPerBatch, int batches, int test, string? sub = null)
    {
        string root = TinyData.TempDir("cifar10"), dir = sub is null ? root : Path.Combine(root, sub);
        Directory.CreateDirectory(dir);
        for (int b = 1; b <= batches; b++) File.WriteAllBytes(Path.Combine(dir, $"data_batch_{b}.bin"), Records(trainPerBatch, 1, b * 1001));
        File.WriteAllBytes(Path.Combine(dir, "test_batch.bin"), Records(test, 1, 0));
        return root;
    }

    internal static byte[] Records(int count, int labelBytes, int offset)
    {
        var bytes = new byte[count * (labelBytes + 3072)];
        for (int i = 0; i < count; i++)
        {
            int at = i * (labelBytes + 3072);
            for (int k = 0; k < labelBytes; k++) bytes[at + k] = (byte)((i + offset + k) % 10);
            for (int j = 0; j < 3072; j++) bytes[at + labelBytes + j] = (byte)(i + offset + 3 * j);
        }
        return bytes;
    }

    [Fact]
    public void ReadsTheBatchesInOrderWithTheirLabelsAndPlanes()
    {
        var dir = Cifar10(7, 2, 5, "cifar-10-batches-bin");
        var notes = new List<string>();
        var split = new DataSource(DataSourceKind.Argument, dir, "test").Load(DatasetOptions.Default, notes);
        Assert.Equal("cifar-10", split.Format);
        Assert.Equal(14, split.Train.Count);
        Assert.Equal(5, split.Test.Count);
        Assert.Equal((3, 32, 32), (split.Train.Channels, split.Train.Height, split.Train.Width));
        Assert.Equal("airplane", split.Train.ClassNames[0]);
        Assert.Equal(2002 % 10, split.Train.Label(7));   // the first record of data_batch_2
        Assert.Equal(unchecked((byte)(3 + 3 * 1024)), split.Test.ImageBytes(3)[1024]);   // green plane, pixel 0 of test image 3
        Assert.Contains(notes, n => n.StartsWith("CIFAR-10 binary: 14 training and 5 test images, 10 classes, RGB 32x32"));
        Assert.Equal(3, split.Normalization.Channels);
    }

    [Fact]
    public void ReadsCifar100FineLabelsAndNamesFiles()
    {
        var dir = TinyData.TempDir("cifar100");
        var train = Records(4, 2, 0);
        train[1] = 99;   // the fine label of record 0
        File.WriteAllBytes(Path.Combine(dir, "train.bin"), train);
        File.WriteAllBytes(Path.Combine(dir, "test.bin"), Records(2, 2, 0));
        var split = CifarBinary.Load(dir);
        Assert.Equal(100, split.Train.NumClasses);
        Assert.Equal(99, split.Train.Label(0));
        Assert.Equal("worm", split.Train.ClassNames[99]);
        File.WriteAllText(Path.Combine(dir, "fine_label_names.txt"), string.Join("\n", Enumerable.Range(0, 100).Select(i => $"c{i}")) + "\n");
        Assert.Equal("c99", CifarBinary.Load(dir).Train.ClassNames[99]);
    }

    [Fact]
    public void CanBeReadInGreyAndAtAnotherSize()
    {
        var dir = Cifar10(3, 1, 2);
        var split = new DataSource(DataSourceKind.Argument, dir, "t").Load(new DatasetOptions { Channels = 1, Height = 16, Width = 16 }, []);
        Assert.Equal((1, 16, 16), (split.Train.Channels, split.Train.Height, split.Train.Width));
        Assert.Equal(new ImagePreprocessing(1, 16, 16), split.Preprocessing);
    }

    [Theory]
    [InlineData("partial record", "not a whole number of 3073-byte CIFAR-10 records")]
    [InlineData("label 10", "has label 10, outside 0..9")]
    [InlineData("names file of 3", "lists 3 class names, expected 10")]
    public void DamagedFilesAreNamed(string what, string message)
    {
        var dir = Cifar10(3, 1, 2);
        string batch = Path.Combine(dir, "data_batch_1.bin");
        switch (what)
        {
            case "partial record": File.WriteAllBytes(batch, File.ReadAllBytes(batch)[..5000]); break;
            case "label 10": var b = File.ReadAllBytes(batch); b[3073] = 10; File.WriteAllBytes(batch, b); break;
            case "names file of 3": File.WriteAllText(Path.Combine(dir, "batches.meta.txt"), "a\nb\nc\n"); break;
        }
        Assert.Contains(message, Assert.Throws<InvalidFileException>(() => CifarBinary.Load(dir)).Message);
    }
}
