using CnnLab.Data;
using CnnLab.IO;
using Xunit;

namespace CnnLab.Tests;

public class ImageFolderTests
{
    private static TrainTestSplit Load(string dir, DatasetOptions? options = null, List<string>? notes = null) =>
        new DataSource(DataSourceKind.Argument, dir, "test").Load(options ?? DatasetOptions.Default, notes ?? []);

    [Fact]
    public void TrainAndTestFoldersGiveSortedClassesAndAllImages()
    {
        var dir = ImageFiles.Folder(["zebra", "Ant", "émeu moth"], 4);
        File.WriteAllText(Path.Combine(dir, "train", "Ant", "notes.txt"), "not an image");
        File.WriteAllText(Path.Combine(dir, "train", "Ant", ".DS_Store"), "hidden");
        var notes = new List<string>();
        var split = Load(dir, notes: notes);
        Assert.Equal(["Ant", "zebra", "émeu moth"], split.Train.ClassNames);   // ordinal order, as Python's sorted()
        Assert.Equal(12, split.Train.Count);
        Assert.Equal(6, split.Test.Count);
        Assert.Equal((3, 10, 12), (split.Train.Channels, split.Train.Height, split.Train.Width));
        Assert.Equal([4, 4, 4], split.Train.ClassCounts());
        Assert.Equal("image-folder", split.Format);
        Assert.Equal(3, split.Normalization.Channels);
        Assert.Contains(notes, n => n.Contains("1 file is not an image") && n.Contains("notes.txt"));
        Assert.DoesNotContain(notes, n => n.Contains(".DS_Store"));
        // The pixels are the files' own, at their own size: image 0 of class "Ant" (label 0) is train/Ant/img 000.png.
        var first = ImageDecoder.Decode(Path.Combine(dir, "train", "Ant", "img 000.png"), 3);
        Assert.Equal(first.Pixels, split.Train.ImageBytes(0).ToArray());
    }

    [Fact]
    public void AFolderWithoutSplitsIsSplitPerClassBySeed()
    {
        var dir = ImageFiles.Folder(["a", "b"], 10, splits: false);
        var notes = new List<string>();
        var one = Load(dir, new DatasetOptions { ValSplit = 0.3, Seed = 5 }, notes);
        Assert.Equal([7, 7], one.Train.ClassCounts());
        Assert.Equal([3, 3], one.Test.ClassCounts());
        var again = Load(dir, new DatasetOptions { ValSplit = 0.3, Seed = 5 });
        Assert.Equal(one.Test.Pixels.ToArray(), again.Test.Pixels.ToArray());
        var other = Load(dir, new DatasetOptions { ValSplit = 0.3, Seed = 6 });
        Assert.NotEqual(one.Test.Pixels.ToArray(), other.Test.Pixels.ToArray());
        var byDefault = Load(dir, notes: notes);
        Assert.Equal([2, 2], byDefault.Test.ClassCounts());
        Assert.Contains(notes, n => n.Contains("20%") && n.Contains("--val-split"));
    }

    [Fact]
    public void ChannelsFollowTheImagesUnlessGiven()
    {
        var grey = ImageFiles.Folder(["a", "b"], 2, grey: true);
        Assert.Equal(1, Load(grey).Train.Channels);
        Assert.Equal(3, Load(grey, new DatasetOptions { Channels = 3 }).Train.Channels);
        var colour = ImageFiles.Folder(["a", "b"], 2);
        Assert.Equal(1, Load(colour, new DatasetOptions { Channels = 1 }).Train.Channels);
        ImageFiles.Write(Path.Combine(grey, "train", "b", "colour.png"), 12, 10, 1);
        Assert.Equal(3, Load(grey).Train.Channels);
    }

    [Fact]
    public void ImagesOfManySizesNeedAnImageSize()
    {
        var dir = ImageFiles.Folder(["a", "b"], 2);
        ImageFiles.Write(Path.Combine(dir, "train", "b", "big.jpg"), 40, 30, 2);
        var e = Assert.Throws<InvalidFileException>(() => Load(dir));
        Assert.Contains("--image-size", e.Problem);
        Assert.Contains("40x30", e.Problem);
        var split = Load(dir, new DatasetOptions { Height = 8, Width = 9 });
        Assert.Equal((8, 9), (split.Train.Height, split.Test.Width));
        Assert.Equal(new ImagePreprocessing(3, 8, 9), split.Preprocessing);
    }

    [Theory]
    [InlineData("empty class", "holds no images")]
    [InlineData("one class", "at least two classes")]
    [InlineData("no test images", "holds no images")]
    [InlineData("test class unknown", "training folder does not have")]
    [InlineData("train without test", "no test/ or val/")]
    [InlineData("corrupt image", "(--skip-bad-images skips such files)")]
    public void BadFoldersAreNamed(string what, string message)
    {
        var dir = ImageFiles.Folder(["a", "b"], 2);
        switch (what)
        {
            case "empty class": Directory.CreateDirectory(Path.Combine(dir, "train", "c")); break;
            case "one class":
                Directory.Delete(Path.Combine(dir, "train", "b"), true);
                Directory.Delete(Path.Combine(dir, "test", "b"), true);
                break;
            case "no test images":
                Directory.Delete(Path.Combine(dir, "test"), true);
                Directory.CreateDirectory(Path.Combine(dir, "test", "a"));
                break;
            case "test class unknown": Directory.CreateDirectory(Path.Combine(dir, "test", "zz")); break;
            case "train without test": Directory.Delete(Path.Combine(dir, "test"), true); break;
            case "corrupt image": File.WriteAllText(Path.Combine(dir, "train", "a", "broken.png"), "\u0089PNG but not really"); break;
        }
        var e = Assert.Throws<InvalidFileException>(() => Load(dir));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void BadImagesCanBeSkippedAndAreListed()
    {
        var dir = ImageFiles.Folder(["a", "b"], 3);
        var good = File.ReadAllBytes(Path.Combine(dir, "train", "a", "img 000.png"));
        File.WriteAllBytes(Path.Combine(dir, "train", "a", "cut.png"), good[..(good.Length / 2)]);
        var notes = new List<string>();
        var split = Load(dir, new DatasetOptions { SkipBadImages = true }, notes);
        Assert.Equal(6, split.Train.Count);
        Assert.Contains(notes, n => n.Contains("1 image could not be decoded") && n.Contains("cut.png"));
    }

    [Fact]
    public void TheCacheIsReadBackAndRebuiltWhenAFileChangesOrTheCacheIsDamaged()
    {
        var dir = ImageFiles.Folder(["a", "b"], 3);
        var cache = TinyData.TempDir("cache");
        var options = new DatasetOptions { CacheDirectory = cache };
        var notes = new List<string>();
        var first = Load(dir, options, notes);
        Assert.Contains(notes, n => n.StartsWith("decoded images cached"));
        notes.Clear();
        var second = Load(dir, options, notes);
        Assert.Contains(notes, n => n.StartsWith("decoded images read from the cache"));
        Assert.Equal(first.Train.Pixels.ToArray(), second.Train.Pixels.ToArray());
        Assert.Equal(first.Test.Labels.ToArray(), second.Test.Labels.ToArray());

        var file = Directory.GetFiles(cache).Single();
        File.WriteAllBytes(file, File.ReadAllBytes(file)[..100]);
        notes.Clear();
        var third = Load(dir, options, notes);
        Assert.Contains(notes, n => n.Contains("is damaged"));
        Assert.Equal(first.Train.Pixels.ToArray(), third.Train.Pixels.ToArray());

        ImageFiles.Write(Path.Combine(dir, "train", "a", "img 000.png"), 12, 10, 9);
        notes.Clear();
        var fourth = Load(dir, options, notes);
        Assert.Contains(notes, n => n.StartsWith("decoded images cached"));
        Assert.NotEqual(first.Train.Pixels.ToArray(), fourth.Train.Pixels.ToArray());
    }

    [Fact]
    public void AFolderWithNothingReadableSaysWhatWasExpected()
    {
        var dir = TinyData.TempDir("nothing");
        File.WriteAllText(Path.Combine(dir, "readme.txt"), "x");
        var e = Assert.Throws<InvalidFileException>(() => Load(dir));
        Assert.Contains("IDX files", e.Problem);
        Assert.Contains("CIFAR", e.Problem);
    }

    [Fact]
    public void StratifiedSplitKeepsEveryClassShare()
    {
        int[] labels = [.. Enumerable.Repeat(0, 50), .. Enumerable.Repeat(1, 10), .. Enumerable.Repeat(2, 3)];
        var (train, test) = ImageFolder.StratifiedSplit(labels, 3, 0.2, 1);
        Assert.Equal(labels.Length, train.Length + test.Length);
        Assert.Equal([10, 2, 1], Enumerable.Range(0, 3).Select(c => test.Count(i => labels[i] == c)).ToArray());
        Assert.Equal(test.Order().ToArray(), test);
    }

    [Fact]
    public void TheReadmesCSharpSnippetTrainsAStepOnAnImageFolder()
    {
        var dir = ImageFiles.Folder(["cat", "dog"], 3, width: 40, height: 30);
        var data = DataSource.FromFolder(dir, new DatasetOptions { Height = 16, Width = 16, CenterCrop = true });
        var model = CnnLab.Nn.Models.ModelZoo.Create("resnet-mini", new CnnLab.Tensors.Generator(0),
            CnnLab.Nn.Models.ModelOptions.Default.ForData([3, 16, 16], data.Train.NumClasses));
        var loader = new DataLoader(data.Train, batchSize: 4, shuffle: true, normalize: data.Normalization, augmentation: Augmentation.Default);
        var batch = loader.Epoch(0).First();
        var loss = CnnLab.Nn.Functional.CrossEntropy(model.Forward(batch.X), batch.Y);
        Assert.True(float.IsFinite(loss.Item()));
        Assert.Throws<DirectoryNotFoundException>(() => DataSource.FromFolder(Path.Combine(dir, "missing")));
    }
}
