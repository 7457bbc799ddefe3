using System.Text.Json;
using CnnLab.Data;

namespace CnnLab.Training.PyTorch;

/// <summary>
/// The files and labels of an image-folder run's training and test parts, in CnnLab's order, for the project's
/// <c>image_lists.json</c>: data.py decodes exactly these, so the seeded per-class split of a folder without train/ and
/// test/ (<see cref="ImageFolder.StratifiedSplit"/>, drawn by CnnLab's generator) needs no Python twin.
/// </summary>
public static class ImageFolderLists
{
    /// <summary>
    /// The JSON: <c>{"train": [[path, label], …], "test": […], "classes": […]}</c>, paths relative to <paramref name="root"/>.
    /// </summary>
    public static string Json(string root, TrainingConfig config)
    {
        var scan = ImageFolderScan.Scan(root);
        if (!scan.ClassNames.SequenceEqual(config.Classes))
            throw new ArgumentException($"export pytorch: {root} has the classes {string.Join(", ", scan.ClassNames.Take(8))}, the run " +
                $"{string.Join(", ", config.Classes.Take(8))}");
        IEnumerable<(string Path, int Label)> train = scan.Train, test = scan.Test;
        if (!scan.HasSplits)
        {
            var all = scan.Train.ToArray();
            var (trainIdx, testIdx) = ImageFolder.StratifiedSplit(all.Select(f => f.Label).ToArray(), scan.ClassNames.Count,
                config.ValSplit ?? ImageFolder.DefaultValSplit, config.Seed);
            (train, test) = (trainIdx.Select(i => all[i]), testIdx.Select(i => all[i]));
        }
        object[][] Entries(IEnumerable<(string Path, int Label)> files) =>
            files.Select(f => new object[] { Path.GetRelativePath(root, f.Path).Replace('\\', '/'), f.Label }).ToArray();
        return JsonSerializer.Serialize(new { train = Entries(train), test = Entries(test), classes = scan.ClassNames });
    }
}
