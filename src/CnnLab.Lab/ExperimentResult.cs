using CnnLab.Viz;

namespace CnnLab.Lab;

/// <summary>A figure with its caption.</summary>
public sealed record Figure(string Png, string Svg, string Caption)
{
    public static Figure Of(FigureFiles files, string caption) => new(files.Png, files.Svg, caption);
}

/// <summary>A small table for the report.</summary>
public sealed record LabTable(string Title, string[] Headers, IReadOnlyList<string[]> Rows);

/// <summary>
/// What an experiment found. <see cref="Metrics"/> holds every number behind its figures and verdict
/// (JSON-serializable values: numbers, strings, bools, arrays, nested dictionaries).
/// </summary>
public sealed class ExperimentResult
{
    public required string Claim { get; init; }

    /// <summary>Text computed from the numbers: what was measured and what it means.</summary>
    public required string Verdict { get; init; }

    /// <summary>Whether the measurement agrees with the notes' claim.</summary>
    public required bool Agrees { get; init; }

    public Dictionary<string, object?> Metrics { get; init; } = [];

    public List<Figure> Figures { get; init; } = [];

    public List<LabTable> Tables { get; init; } = [];

    /// <summary>Seconds the experiment took (set by the runner).</summary>
    public double Seconds { get; set; }
}
