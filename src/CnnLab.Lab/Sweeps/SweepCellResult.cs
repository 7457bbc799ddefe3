using System.Text.Json;
using System.Text.Json.Nodes;
using CnnLab.IO;

namespace CnnLab.Lab.Sweeps;

/// <summary>What one cell measured: accuracy at each checkpoint, the loss of every step, and its wall time.</summary>
/// <param name="Cell">The configuration.</param>
/// <param name="CheckpointSteps">Steps at which accuracy was measured.</param>
/// <param name="TrainCurve">Train accuracy at each checkpoint (NaN after a divergence).</param>
/// <param name="TestCurve">Test accuracy at each checkpoint (NaN after a divergence).</param>
/// <param name="Losses">Cross-entropy of every step (NaN from a divergence on).</param>
/// <param name="Seconds">Wall time of the cell (not part of its numbers: it depends on the machine's load).</param>
public sealed record SweepCellResult(SweepCell Cell, int[] CheckpointSteps, double[] TrainCurve, double[] TestCurve, double[] Losses, double Seconds)
{
    /// <summary>The name of a finished cell's file in its folder.</summary>
    public const string FileName = "result.json";

    /// <summary>Test accuracy at the last checkpoint.</summary>
    public double TestAccuracy => TestCurve[^1];

    /// <summary>Train accuracy at the last checkpoint.</summary>
    public double TrainAccuracy => TrainCurve[^1];

    /// <summary>The result file's content (non-finite numbers as null).</summary>
    public string ToJson(SweepBudget budget) => new JsonObject
    {
        ["cell"] = Cell.ToJson(), ["budget"] = budget.ToJson(), ["checkpoint_steps"] = LabJson.ToNode(CheckpointSteps),
        ["train_accuracy"] = LabJson.ToNode(TrainCurve), ["test_accuracy"] = LabJson.ToNode(TestCurve),
        ["losses"] = LabJson.ToNode(Losses), ["seconds"] = Seconds,
    }.ToJsonString(LabJson.Options);

    /// <summary>
    /// Reads a finished cell's file back, checked like any input: it must be the result of <paramref name="cell"/> under
    /// <paramref name="budget"/>, with one accuracy per checkpoint and one loss per step, every accuracy in [0, 1] or null.
    /// </summary>
    public static SweepCellResult Read(string path, SweepCell cell, SweepBudget budget)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(Budgets.ReadTextFile(path, "sweep cell result")); }
        catch (JsonException e) { throw new InvalidFileException(path, $"not valid JSON: {e.Message}"); }
        if (root is not JsonObject o) throw new InvalidFileException(path, "must be a JSON object");
        if (!JsonNode.DeepEquals(o["cell"], cell.ToJson()) || !JsonNode.DeepEquals(o["budget"], budget.ToJson()))
            throw new InvalidFileException(path, "field 'cell' or 'budget' is not the cell this folder is named for; delete the folder to rerun it");
        var steps = budget.CheckpointSteps;
        try
        {
            var at = o["checkpoint_steps"]!.AsArray().Select(n => (int)n!).ToArray();
            if (!at.SequenceEqual(steps)) throw new InvalidFileException(path, "field 'checkpoint_steps' does not match the budget");
            var train = Numbers(o, "train_accuracy", steps.Length, path, unit: true);
            var test = Numbers(o, "test_accuracy", steps.Length, path, unit: true);
            var losses = Numbers(o, "losses", budget.Steps, path, unit: false);
            double seconds = (double)o["seconds"]!;
            return new SweepCellResult(cell, at, train, test, losses, seconds);
        }
        catch (Exception e) when (e is InvalidOperationException or NullReferenceException or FormatException)
        {
            throw new InvalidFileException(path, $"a field is missing or of the wrong type ({e.Message})");
        }
    }

    private static double[] Numbers(JsonObject o, string field, int length, string path, bool unit)
    {
        var values = o[field]!.AsArray().Select(n => n is null ? double.NaN : (double)n).ToArray();
        if (values.Length != length) throw new InvalidFileException(path, $"field '{field}' has {values.Length} values, expected {length}");
        if (unit && values.Any(v => v is < 0 or > 1)) throw new InvalidFileException(path, $"field '{field}': accuracies must be in [0, 1]");
        return values;
    }
}
