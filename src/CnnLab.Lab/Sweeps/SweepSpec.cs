namespace CnnLab.Lab.Sweeps;

/// <summary>
/// A sweep: its name, the budget every cell spends, and the cells, in the grid file's order (the grid's last axis
/// varies fastest, as nested loops in the order the axes are written).
/// </summary>
/// <param name="Name">Shown as the report's title.</param>
/// <param name="Budget">Steps, checkpoints, schedule and images of every cell.</param>
/// <param name="Cells">Every configuration to train; at most <see cref="MaxCells"/>.</param>
public sealed record SweepSpec(string Name, SweepBudget Budget, IReadOnlyList<SweepCell> Cells)
{
    /// <summary>The most cells one sweep may hold.</summary>
    public const int MaxCells = 1000;

    /// <summary>The axes whose value differs between cells, seed excluded (seeds are repetitions, not a factor).</summary>
    public IReadOnlyList<string> Factors =>
        SweepCell.Axes.Where(a => a != "seed" && Cells.Select(c => c.Value(a)).Distinct().Count() > 1).ToArray();

    /// <summary>The cells grouped by every factor (the seeds of one configuration together), in first-seen order.</summary>
    public IReadOnlyList<IReadOnlyList<int>> Groups()
    {
        var keys = new List<string>();
        var groups = new Dictionary<string, List<int>>();
        for (int i = 0; i < Cells.Count; i++)
        {
            string key = Cells[i].Describe(Factors);
            if (!groups.TryGetValue(key, out var list)) { groups[key] = list = []; keys.Add(key); }
            list.Add(i);
        }
        return keys.Select(k => (IReadOnlyList<int>)groups[k]).ToArray();
    }
}
