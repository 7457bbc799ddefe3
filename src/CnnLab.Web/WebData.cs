using CnnLab.Data;

namespace CnnLab.Web;

/// <summary>
/// The data the server trains and evaluates on: what <c>--data</c> named (or the embedded subset), read as a run's config
/// asks. The last few loads are kept, since every Playground job and evaluation asks for the same few.
/// </summary>
/// <param name="description">Which data it is, for the pages (e.g. "embedded Fashion-MNIST subset").</param>
/// <param name="load">Loads the data with the given options (the CLI's loader: cache, notes, progress).</param>
public sealed class WebData(string description, Func<DatasetOptions, TrainTestSplit> load)
{
    private const int Kept = 4;
    private readonly List<(DatasetOptions Options, TrainTestSplit Data)> _loaded = [];
    private readonly Lock _lock = new();

    public string Description { get; } = description;

    /// <summary>The data read with <paramref name="options"/>; loads are serialized (one decode at a time on a busy machine).</summary>
    public TrainTestSplit Load(DatasetOptions options)
    {
        lock (_lock)
        {
            foreach (var (o, d) in _loaded)
                if (Same(o, options)) return d;
            var data = load(options);
            _loaded.Add((options, data));
            if (_loaded.Count > Kept) _loaded.RemoveAt(0);
            return data;
        }
    }

    private static bool Same(DatasetOptions a, DatasetOptions b) =>
        a.Channels == b.Channels && a.Height == b.Height && a.Width == b.Width && a.CenterCrop == b.CenterCrop && a.ValSplit == b.ValSplit
        && a.Seed == b.Seed && Same(a.Normalize, b.Normalize);

    private static bool Same(Normalize? a, Normalize? b) =>
        a is null || b is null ? a is null && b is null : a.Means.SequenceEqual(b.Means) && a.Stds.SequenceEqual(b.Stds);
}
