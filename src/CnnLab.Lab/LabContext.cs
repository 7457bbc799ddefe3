using CnnLab.Data;

namespace CnnLab.Lab;

/// <summary>How much compute the lab spends.</summary>
public enum LabMode
{
    /// <summary>The embedded 6,000/1,000 subset and small budgets: the whole lab in minutes.</summary>
    Quick,

    /// <summary>Full Fashion-MNIST and the budgets the papers' effects need.</summary>
    Full,
}

/// <summary>What an experiment gets: its output folder, the data, the mode, a seed and a log.</summary>
public sealed class LabContext
{
    public LabContext(string outDir, TrainTestSplit data, string dataDescription, LabMode mode, long seed, TextWriter log)
    {
        OutDir = outDir;
        Data = data;
        DataDescription = dataDescription;
        Mode = mode;
        Seed = seed;
        Log = log;
        Directory.CreateDirectory(outDir);
    }

    /// <summary>This experiment's folder.</summary>
    public string OutDir { get; }

    public TrainTestSplit Data { get; }

    public string DataDescription { get; }

    public LabMode Mode { get; }

    public bool Quick => Mode == LabMode.Quick;

    public long Seed { get; }

    /// <summary>Progress lines for the user.</summary>
    public TextWriter Log { get; }

    /// <summary>Path (without extension) for a figure named <paramref name="name"/> in this experiment's folder.</summary>
    public string FigurePath(string name) => Path.Combine(OutDir, name);

    /// <summary>A copy for a sub-folder (each experiment gets its own).</summary>
    public LabContext For(string subdir) => new(Path.Combine(OutDir, subdir), Data, DataDescription, Mode, Seed, Log);
}
