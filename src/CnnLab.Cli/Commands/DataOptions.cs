using System.CommandLine;
using System.Globalization;
using CnnLab.Data;
using CnnLab.Cli.Support;

namespace CnnLab.Cli.Commands;

/// <summary>
/// The data options every command shares: <c>--data DIR</c> (IDX files, CIFAR binary, or folders of images) and how
/// images are read (<c>--skip-bad-images</c>, <c>--no-cache</c>); with <paramref name="preprocessing"/>, how they are
/// prepared too (<c>--channels</c>, <c>--image-size</c>, <c>--center-crop</c>, <c>--val-split</c>, <c>--normalize</c>),
/// which only <c>train</c> decides: the others read them from the checkpoint.
/// </summary>
public sealed class DataOptions(bool preprocessing)
{
    /// <summary>The environment variable naming the cache folder for decoded images.</summary>
    public const string CacheVariable = "CNNLAB_CACHE";

    public Option<string?> Data { get; } = new("--data")
    {
        Description = "folder of data: the four IDX files (Fashion-MNIST or MNIST layout), CIFAR-10/100 binary batches, or one folder "
            + "of images per class (optionally under train/ and test/ or val/); default: "
            + $"${DataSource.EnvironmentVariable}, then {DataSource.SystemDirectory}, then the embedded subset",
    };

    public Option<bool> SkipBadImages { get; } = new("--skip-bad-images")
    {
        Description = "skip images that cannot be decoded (they are listed) instead of stopping at the first",
    };

    public Option<bool> NoCache { get; } = new("--no-cache")
    {
        Description = $"decode image folders every time instead of caching the decoded pixels (in ${CacheVariable} or ~/.cache/cnnlab)",
    };

    public Option<string> Channels { get; } = new("--channels")
    {
        Description = "1 (grey), 3 (RGB) or auto (RGB if any training image is in colour)", DefaultValueFactory = _ => "auto",
    };

    public Option<string?> ImageSize { get; } = new("--image-size")
    {
        Description = "resize every image to N x N or H x W (e.g. 32 or 64x48; antialiased); default: the images' own size",
    };

    public Option<bool> CenterCrop { get; } = new("--center-crop")
    {
        Description = "with --image-size: keep the aspect ratio, scale to cover and cut out the centre (default: stretch)",
    };

    public Option<double?> ValSplit { get; } = new("--val-split")
    {
        Description = $"share of each class held out for testing when the folder has no train/ and test/ (default {ImageFolder.DefaultValSplit})",
    };

    public Option<string?> Normalize { get; } = new("--normalize")
    {
        Description = "auto (the data set's published statistics, else computed from the training images), none, "
            + "or MEAN/STD per channel, e.g. 0.49,0.48,0.45/0.25,0.24,0.26",
    };

    public IEnumerable<Option> All => preprocessing
        ? [Data, SkipBadImages, NoCache, Channels, ImageSize, CenterCrop, ValSplit, Normalize]
        : [Data, SkipBadImages, NoCache];

    /// <summary>The options that change what a run trains on (refused with --resume, which reads them from config.json).</summary>
    public IEnumerable<Option> Preprocessing => [Channels, ImageSize, CenterCrop, ValSplit, Normalize];

    /// <summary>The dataset options from the command line (<c>train</c>).</summary>
    public DatasetOptions FromCommandLine(ParseResult p, long seed)
    {
        string channels = p.GetValue(Channels)!.Trim().ToLowerInvariant();
        int c = channels switch
        {
            "auto" => 0, "1" => 1, "3" => 3,
            _ => throw new UsageException($"--channels must be 1, 3 or auto, got '{channels}'"),
        };
        var (h, w) = p.GetValue(ImageSize) is { } size ? Parse(() => ImagePreprocessing.ParseSize(size)) : (0, 0);
        return new DatasetOptions
        {
            Channels = c, Height = h, Width = w, CenterCrop = p.GetValue(CenterCrop), ValSplit = p.GetValue(ValSplit), Seed = seed,
            Normalize = ParseNormalize(p.GetValue(Normalize)),
        };
    }

    /// <summary>Resolves and loads the data, telling <paramref name="log"/> which data was used and how.</summary>
    public (DataSource Source, TrainTestSplit Data) Load(ParseResult p, DatasetOptions options, TextWriter log)
    {
        string? dir = p.GetValue(Data);
        if (dir is not null && !Directory.Exists(dir)) throw new UsageException($"--data: folder '{dir}' does not exist");
        var source = DataSource.Resolve(dir, Environment.GetEnvironmentVariable(DataSource.EnvironmentVariable));
        log.WriteLine(source.Description);
        var progress = new DecodeProgress(log, ProgressBar.IsTerminal);
        options = options with
        {
            SkipBadImages = p.GetValue(SkipBadImages),
            CacheDirectory = p.GetValue(NoCache) ? null : CacheDirectory(),
            Progress = progress.Report,
        };
        var notes = new List<string>();
        TrainTestSplit split;
        try { split = source.Load(options, notes); }
        finally { progress.Finish(); }
        foreach (var note in notes) log.WriteLine("  " + note);
        return (source, split);
    }

    /// <summary>$CNNLAB_CACHE, else $XDG_CACHE_HOME/cnnlab, else ~/.cache/cnnlab; the decoded images go to its images/ folder.</summary>
    public static string? CacheDirectory()
    {
        string? root = Environment.GetEnvironmentVariable(CacheVariable);
        if (string.IsNullOrWhiteSpace(root))
        {
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            root = !string.IsNullOrWhiteSpace(xdg) ? Path.Combine(xdg, "cnnlab")
                : string.IsNullOrEmpty(home) ? null : Path.Combine(home, ".cache", "cnnlab");
        }
        return root is null ? null : Path.Combine(root, "images");
    }

    private static Normalize? ParseNormalize(string? text)
    {
        if (text is null || text.Equals("auto", StringComparison.OrdinalIgnoreCase)) return null;
        if (text.Equals("none", StringComparison.OrdinalIgnoreCase)) return CnnLab.Data.Normalize.None;
        var parts = text.Split('/');
        if (parts.Length != 2) throw new UsageException($"--normalize must be auto, none or MEAN/STD (e.g. 0.5/0.25), got '{text}'");
        float[] Values(string list) => list.Split(',').Select(v => float.TryParse(v.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture,
            out float x) ? x : throw new UsageException($"--normalize: '{v}' is not a number")).ToArray();
        return Parse(() => new CnnLab.Data.Normalize(Values(parts[0]), Values(parts[1])));
    }

    private static T Parse<T>(Func<T> parse)
    {
        try { return parse(); }
        catch (ArgumentException e) { throw new UsageException(e.Message.Split(Environment.NewLine)[0]); }
    }
}
