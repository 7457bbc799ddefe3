using CnnLab.IO;

namespace CnnLab.Data;

/// <summary>
/// The files of an image-folder data set, found before anything is decoded: <c>DIR/train/&lt;class&gt;/…</c> with
/// <c>DIR/test/&lt;class&gt;/…</c> (or <c>val/</c>), or <c>DIR/&lt;class&gt;/…</c> without splits. Classes are the
/// training split's subfolders in ordinal order of their names (torchvision's <c>sorted()</c>); images are found in
/// any depth below a class folder, in ordinal path order; hidden files and folders (a leading '.') are passed over,
/// other files that are not images are counted and named in <see cref="Ignored"/>.
/// </summary>
public sealed class ImageFolderScan
{
    private ImageFolderScan(string root, bool hasSplits, string? testFolder, IReadOnlyList<string> classes,
        IReadOnlyList<(string Path, int Label)> train, IReadOnlyList<(string Path, int Label)> test, IReadOnlyList<string> ignored)
    {
        Root = root;
        HasSplits = hasSplits;
        TestFolder = testFolder;
        ClassNames = classes;
        Train = train;
        Test = test;
        Ignored = ignored;
    }

    public string Root { get; }

    /// <summary>True for the train/ + test/ (or val/) layout.</summary>
    public bool HasSplits { get; }

    /// <summary>"test" or "val" with splits; null without.</summary>
    public string? TestFolder { get; }

    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>The training images (all of them, without splits), with their labels.</summary>
    public IReadOnlyList<(string Path, int Label)> Train { get; }

    /// <summary>The test images (empty without splits).</summary>
    public IReadOnlyList<(string Path, int Label)> Test { get; }

    /// <summary>Files that are not images, relative to <see cref="Root"/>.</summary>
    public IReadOnlyList<string> Ignored { get; }

    /// <summary>True when <paramref name="directory"/> looks like an image-folder set (a train/ folder or a class folder of images).</summary>
    public static bool Looks(string directory)
    {
        if (Directory.Exists(Path.Combine(directory, "train"))) return true;
        return Subfolders(directory).Any(d => Directory.EnumerateFiles(d, "*", SearchOption.AllDirectories).Any(ImageDecoder.IsImageFile));
    }

    /// <summary>Finds the classes and files, or throws naming the folder and what is wrong.</summary>
    public static ImageFolderScan Scan(string directory)
    {
        string trainDir = Path.Combine(directory, "train");
        bool hasSplits = Directory.Exists(trainDir);
        string? testName = null;
        if (hasSplits)
        {
            testName = Directory.Exists(Path.Combine(directory, "test")) ? "test" : Directory.Exists(Path.Combine(directory, "val")) ? "val" : null;
            if (testName is null)
                throw new InvalidFileException(directory, "has a train/ folder but no test/ or val/ folder beside it "
                    + "(or move the class folders up to use --val-split)");
        }
        string classRoot = hasSplits ? trainDir : directory;
        var classDirs = Subfolders(classRoot).ToList();
        if (classDirs.Count == 0) throw new InvalidFileException(classRoot, "has no class folders (expected one folder of images per class)");
        var names = classDirs.Select(Path.GetFileName).Select(n => n!).ToList();
        var ignored = new List<string>();
        var train = Collect(directory, classRoot, names, ignored, requireEach: true);
        var test = new List<(string, int)>();
        if (testName is not null)
        {
            string testRoot = Path.Combine(directory, testName);
            foreach (var extra in Subfolders(testRoot).Select(Path.GetFileName).Where(n => !names.Contains(n!)))
                throw new InvalidFileException(Path.Combine(testRoot, extra!),
                    $"is a class the training folder does not have (training classes: {string.Join(", ", names)})");
            test = Collect(directory, testRoot, names, ignored, requireEach: false);
            if (test.Count == 0) throw new InvalidFileException(testRoot, "holds no images");
        }
        if (names.Count < 2)
            throw new InvalidFileException(classRoot, $"has one class folder ('{names[0]}'): a classifier needs at least two classes");
        return new ImageFolderScan(directory, hasSplits, testName, names, train, test, ignored);
    }

    private static List<(string, int)> Collect(string root, string classRoot, List<string> names, List<string> ignored, bool requireEach)
    {
        var files = new List<(string, int)>();
        for (int label = 0; label < names.Count; label++)
        {
            string dir = Path.Combine(classRoot, names[label]);
            if (!Directory.Exists(dir)) continue;
            int before = files.Count;
            foreach (var file in Files(dir))
            {
                if (ImageDecoder.IsImageFile(file)) files.Add((file, label));
                else ignored.Add(Path.GetRelativePath(root, file));
            }
            if (requireEach && files.Count == before)
                throw new InvalidFileException(dir, $"class folder '{names[label]}' holds no images ({string.Join(", ", ImageDecoder.Extensions)})");
        }
        return files;
    }

    // Visible files below dir, in ordinal order of their paths (the same order on every machine).
    private static IEnumerable<string> Files(string dir)
    {
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.Hidden, IgnoreInaccessible = false };
        return Directory.EnumerateFiles(dir, "*", options)
            .Where(f => !Path.GetRelativePath(dir, f).Split(Path.DirectorySeparatorChar).Any(part => part.StartsWith('.')))
            .Order(StringComparer.Ordinal);
    }

    private static IEnumerable<string> Subfolders(string dir) =>
        Directory.EnumerateDirectories(dir).Where(d => !Path.GetFileName(d).StartsWith('.')).Order(StringComparer.Ordinal);
}
