namespace CnnLab.Lab;

/// <summary>Every experiment in this assembly, in the notes' order.</summary>
public static class ExperimentCatalog
{
    /// <summary>All experiments (each a fresh instance), ordered by <see cref="Experiment.Order"/>.</summary>
    public static IReadOnlyList<Experiment> All() =>
        typeof(Experiment).Assembly.GetTypes()
            .Where(t => t.IsSubclassOf(typeof(Experiment)) && !t.IsAbstract && t.GetConstructor(Type.EmptyTypes) is not null)
            .Select(t => (Experiment)Activator.CreateInstance(t)!)
            .OrderBy(e => e.Order)
            .ToList();

    /// <summary>The experiment named <paramref name="name"/>, or a clear error listing the names.</summary>
    public static Experiment Get(string name) =>
        All().FirstOrDefault(e => e.Name == name)
        ?? throw new ArgumentException($"unknown experiment '{name}': expected one of {string.Join(", ", All().Select(e => e.Name))}");
}
