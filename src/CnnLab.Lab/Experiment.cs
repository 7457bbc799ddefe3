namespace CnnLab.Lab;

/// <summary>
/// One measured answer to a claim or question of the notes. An experiment runs, writes its figures
/// into its own folder, and returns numbers plus a verdict whose text is computed from those numbers
/// (never canned): the notes' claim, what was measured, and whether the measurement agrees.
/// </summary>
public abstract class Experiment
{
    /// <summary>What the experiment is: its name, title, topic, place in the report and the claim it tests.</summary>
    public abstract ExperimentInfo Info { get; }

    /// <summary>Command-line name, e.g. "zero-init".</summary>
    public string Name => Info.Name;

    /// <summary>Section heading in the report.</summary>
    public string Title => Info.Title;

    /// <summary>The notes' topic this answers (groups sections in the report), e.g. "Initialization".</summary>
    public string Topic => Info.Topic;

    /// <summary>The claim as the notes make it (quoted or paraphrased).</summary>
    public string Claim => Info.Claim;

    /// <summary>Position in the report (the notes' order).</summary>
    public int Order => Info.Order;

    /// <summary>Runs the experiment. Figures go to <see cref="LabContext.FigurePath"/>.</summary>
    public abstract ExperimentResult Run(LabContext context);
}

/// <summary>An experiment's record: everything the catalog, the CLI and the report know of it before it runs.</summary>
/// <param name="Name">Command-line name, e.g. "zero-init".</param>
/// <param name="Title">Section heading in the report.</param>
/// <param name="Topic">The notes' topic this answers (groups sections in the report), e.g. "Initialization".</param>
/// <param name="Order">Position in the report (the notes' order).</param>
/// <param name="Claim">The claim as the notes make it (quoted or paraphrased).</param>
public sealed record ExperimentInfo(string Name, string Title, string Topic, int Order, string Claim);
