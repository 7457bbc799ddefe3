using CnnLab.Data;
using Xunit;
using static CnnLab.Tests.IdxTestFiles;
using CnnLab.IO;

namespace CnnLab.Tests;

public class DatasetTests
{
    [Fact]
    public void FashionMnistClassNamesAndStatistics()
    {
        Assert.Equal(["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
            FashionMnist.ClassNames);
        Assert.Equal(0.2860f, FashionMnist.Mean);
        Assert.Equal(0.3530f, FashionMnist.Std);
        Assert.Equal(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"], Mnist.ClassNames);
        Assert.Equal(0.1307f, Mnist.Mean);
        Assert.Equal(0.3081f, Mnist.Std);
    }

    [Fact]
    public void LoadsAFolderOfRawOrGzipFiles()
    {
        using var files = new IdxTestFiles();
        files.WriteDataset(30, 12, gzip: false, dir: Path.Combine(files.Directory, "raw"));
        files.WriteDataset(30, 12, gzip: true, dir: Path.Combine(files.Directory, "gz"));
        var raw = Mnist.Load(Path.Combine(files.Directory, "raw"));
        var gz = Mnist.Load(Path.Combine(files.Directory, "gz"));
        Assert.Equal(30, raw.Train.Count);
        Assert.Equal(12, raw.Test.Count);
        Assert.Equal((1, 28, 28), (raw.Train.Channels, raw.Train.Height, raw.Train.Width));
        Assert.Equal("MNIST train", raw.Train.Name);
        Assert.Equal(Mnist.ClassNames, raw.Test.ClassNames);
        Assert.Equal(raw.Train.Pixels.ToArray(), gz.Train.Pixels.ToArray());
        Assert.Equal(raw.Test.Labels.ToArray(), gz.Test.Labels.ToArray());
        Assert.Equal(7, raw.Train.Label(17));
        Assert.Equal((byte)(5 * 11 + (5 * 784 + 3) % 17), raw.Train.ImageBytes(5)[3]); // flat pixel k of image i is 11 i + k mod 17
    }

    [Fact]
    public void AcceptsAnyImageSizeConsistentAcrossTrainAndTest()
    {
        using var files = new IdxTestFiles();
        files.WriteDataset(4, 3, h: 5, w: 7);
        var d = FashionMnist.Load(files.Directory);
        Assert.Equal((5, 7), (d.Train.Height, d.Train.Width));
        Assert.Equal(35, d.Test.ImageSize);
    }

    [Fact]
    public void TestImagesOfAnotherSizeAreAnError()
    {
        using var files = new IdxTestFiles();
        files.WriteDataset(4, 3);
        files.Write("t10k-images-idx3-ubyte.gz", Gzip(Idx(3, 32, 32)));
        var e = Assert.Throws<InvalidFileException>(() => FashionMnist.Load(files.Directory));
        Assert.EndsWith("t10k-images-idx3-ubyte.gz", e.FilePath);
        Assert.Contains("images are 32x32, but the training images", e.Problem);
        Assert.Contains("are 28x28", e.Problem);
    }

    [Fact]
    public void ImagesAndLabelsOfDifferentCountsAreAnError()
    {
        using var files = new IdxTestFiles();
        files.WriteDataset(4, 3);
        files.Write("train-labels-idx1-ubyte.gz", Gzip(Idx([5], [0, 1, 2, 3, 4])));
        var e = Assert.Throws<InvalidFileException>(() => FashionMnist.Load(files.Directory));
        Assert.EndsWith("train-labels-idx1-ubyte.gz", e.FilePath);
        Assert.Contains("5 labels, but", e.Problem);
        Assert.Contains("has 4 images; expected one label per image", e.Problem);
    }

    [Fact]
    public void LabelOutOfRangeIsAnError()
    {
        using var files = new IdxTestFiles();
        files.WriteDataset(4, 3);
        files.Write("t10k-labels-idx1-ubyte.gz", Gzip(Idx([3], [0, 10, 2])));
        var e = Assert.Throws<InvalidFileException>(() => FashionMnist.Load(files.Directory));
        Assert.EndsWith("t10k-labels-idx1-ubyte.gz", e.FilePath);
        Assert.Contains("label 10 of item 1 is outside [0, 10)", e.Problem);
    }

    [Fact]
    public void WrongRanksAreErrors()
    {
        using var files = new IdxTestFiles();
        files.WriteDataset(4, 3);
        files.Write("train-images-idx3-ubyte.gz", Gzip(Idx(4, 784)));
        var e = Assert.Throws<InvalidFileException>(() => FashionMnist.Load(files.Directory));
        Assert.Contains("images have dims 4 x 784; expected 3 dimensions [count, height, width]", e.Problem);

        files.WriteDataset(4, 3);
        files.Write("train-labels-idx1-ubyte.gz", Gzip(Idx(4, 1)));
        e = Assert.Throws<InvalidFileException>(() => FashionMnist.Load(files.Directory));
        Assert.Contains("labels have dims 4 x 1; expected 1 dimension [count]", e.Problem);
    }

    [Fact]
    public void MissingFileNamesWhatIsExpected()
    {
        using var files = new IdxTestFiles();
        files.WriteDataset(4, 3);
        File.Delete(Path.Combine(files.Directory, "t10k-labels-idx1-ubyte.gz"));
        var e = Assert.Throws<FileNotFoundException>(() => FashionMnist.Load(files.Directory));
        Assert.Contains("has no t10k-labels-idx1-ubyte (nor t10k-labels-idx1-ubyte.gz)", e.Message);
        Assert.Throws<DirectoryNotFoundException>(() => FashionMnist.Load(Path.Combine(files.Directory, "nope")));
    }

    [Fact]
    public void EmbeddedSubsetIsStratified()
    {
        var d = FashionMnist.LoadEmbeddedSubset();
        Assert.Equal(6000, d.Train.Count);
        Assert.Equal(1000, d.Test.Count);
        Assert.All(d.Train.ClassCounts(), c => Assert.Equal(600, c));
        Assert.All(d.Test.ClassCounts(), c => Assert.Equal(100, c));
        Assert.Equal((1, 28, 28), (d.Train.Channels, d.Train.Height, d.Train.Width));
        Assert.Equal(FashionMnist.ClassNames, d.Train.ClassNames);
        Assert.Equal(FashionMnist.EmbeddedSource, d.Test.Source);
        // Real clothing, not noise: the mean pixel is near Fashion-MNIST's 0.286.
        double mean = 0;
        foreach (byte b in d.Train.Pixels) mean += b;
        mean /= 255.0 * d.Train.Pixels.Length;
        Assert.InRange(mean, 0.27, 0.30);
    }

    [Fact]
    public void ImageGivesPixelFloatsAndSubsetCopies()
    {
        using var files = new IdxTestFiles();
        files.WriteDataset(20, 3, h: 4, w: 4);
        var train = FashionMnist.Load(files.Directory).Train;
        var img = train.Image(2);
        Assert.Equal([1, 4, 4], img.Shape);
        Assert.Equal(train.ImageBytes(2)[5] / 255f, img.Data[5]);

        var sub = train.Subset([7, 2, 7]);
        Assert.Equal(3, sub.Count);
        Assert.Equal([7, 2, 7], sub.Labels.ToArray());
        Assert.Equal(train.ImageBytes(2).ToArray(), sub.ImageBytes(1).ToArray());
        Assert.Equal(5, train.Take(5).Count);
        Assert.Equal(20, train.Take(100).Count);
        Assert.Equal(train.ImageBytes(4).ToArray(), train.Take(5).ImageBytes(4).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => train.Subset([20]));
        Assert.Throws<ArgumentOutOfRangeException>(() => train.Image(-1));
    }

    [Fact]
    public void ConstructorChecksSizesAndLabels()
    {
        string[] classes = ["a", "b"];
        Assert.Throws<ArgumentException>(() => new ImageDataset("x", "test", new byte[7], [0, 1], 1, 2, 2, classes));
        var e = Assert.Throws<ArgumentException>(() => new ImageDataset("x", "test", new byte[8], [0, 2], 1, 2, 2, classes));
        Assert.Contains("label 2 of image 1 is outside [0, 2)", e.Message);
    }
}
