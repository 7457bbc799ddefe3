namespace CnnLab.Lab;

/// <summary>
/// One measured answer to a claim or question of the notes. An experiment runs, writes its figures
/// into its own folder, and returns numbers plus a verdict whose text is computed from those numbers
/// (never canned): the notes' claim, what was measured, and whether the measurement agrees.
/// </summary>
public abstract class Experiment
{
    /// <summary>Command-line name, e.g. "zero-init".</summary>
    public abstract string Name { get; }

    /// <summary>Section heading in the report.</summary>
    public abstract string Title { get; }

    /// <summary>The notes' topic this answers (groups sections in the report), e.g. "Initialization".</summary>
    public abstract string Topic { get; }

    /// <summary>The claim as the notes make it (quoted or paraphrased).</summary>
    public abstract string Claim { get; }

    /// <summary>Position in the report (the notes' order).</summary>
    public abstract int Order { get; }

    /// <summary>Runs the experiment. Figures go to <see cref="LabContext.FigurePath"/>.</summary>
    public abstract ExperimentResult Run(LabContext context);
}
