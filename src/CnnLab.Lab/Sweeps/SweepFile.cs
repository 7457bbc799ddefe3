using System.Globalization;
using System.Text.Json;
using CnnLab.Init.Networks;
using CnnLab.IO;
using CnnLab.Nn.Models;
using CnnLab.Training;

namespace CnnLab.Lab.Sweeps;

/// <summary>
/// Reads a grid file, checking it as any input: an unknown key, a value of the wrong type or range, an empty axis, no cell
/// or more than <see cref="SweepSpec.MaxCells"/> cells is an <see cref="InvalidFileException"/> naming the file and the field.
/// <code>
/// { "name": "optimizers on lenet5",
///   "budget": { "steps": 150, "checkpoints": 3, "schedule": "cosine", "train_images": 2000, "test_images": 1000 },
///   "fixed": { "model": "lenet5", "batch_size": 64 },
///   "grid": { "optimizer": ["sgd", "adam"], "lr": [0.001, 0.003, 0.01], "seed": [0, 1, 2] } }
/// </code>
/// "grid" is the Cartesian product of its axes (the last written varies fastest); "cells" is instead a list of cells, each an
/// object of axes. "fixed" sets axes for every cell; an axis set nowhere takes <see cref="SweepCell.Default"/>'s value.
/// </summary>
public static class SweepFile
{
    private static readonly string[] TopKeys = ["name", "budget", "fixed", "grid", "cells"];
    private static readonly string[] BudgetKeys =
        ["steps", "checkpoints", "schedule", "train_images", "train_eval_images", "test_images", "data_seed"];

    /// <summary>Reads and checks <paramref name="path"/> (size-limited like every text input).</summary>
    public static SweepSpec Load(string path) => Parse(Budgets.ReadTextFile(path, "sweep grid"), path);

    /// <summary>Parses and checks grid-file text; <paramref name="path"/> names it in errors.</summary>
    public static SweepSpec Parse(string json, string path)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }); }
        catch (JsonException e) { throw new InvalidFileException(path, $"not valid JSON: {e.Message}"); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new InvalidFileException(path, "the grid file must be a JSON object");
            CheckKeys(root, TopKeys, "", path);
            string name = root.TryGetProperty("name", out var n) ? Text(n, "name", path) : Path.GetFileNameWithoutExtension(path);
            var budget = root.TryGetProperty("budget", out var b) ? ParseBudget(b, path) : SweepBudget.Default;
            var fixedAxes = new Dictionary<string, JsonElement>();
            if (root.TryGetProperty("fixed", out var f))
            {
                RequireObject(f, "fixed", path);
                CheckKeys(f, SweepCell.Axes, "fixed.", path);
                foreach (var p in f.EnumerateObject()) fixedAxes[p.Name] = p.Value;
            }
            bool hasGrid = root.TryGetProperty("grid", out var grid), hasCells = root.TryGetProperty("cells", out var list);
            if (hasGrid == hasCells)
                throw new InvalidFileException(path, "give exactly one of 'grid' (axes to combine) and 'cells' (a list of cells)");
            var combos = hasGrid ? GridCombinations(grid, fixedAxes, path) : ListCells(list, fixedAxes, path);
            var cells = combos.Select(c => ToCell(c.Axes, c.Field, path)).ToList();
            var seen = new Dictionary<string, int>();
            for (int i = 0; i < cells.Count; i++)
                if (!seen.TryAdd(cells[i].Id(budget), i))
                    throw new InvalidFileException(path, $"field '{combos[i].Field}': the same cell as '{combos[seen[cells[i].Id(budget)]].Field}'");
            return new SweepSpec(name, budget, cells);
        }
    }

    private static SweepBudget ParseBudget(JsonElement b, string path)
    {
        RequireObject(b, "budget", path);
        CheckKeys(b, BudgetKeys, "budget.", path);
        var d = SweepBudget.Default;
        int I(string key, int def, int min, int max) =>
            b.TryGetProperty(key, out var v) ? Integer(v, "budget." + key, min, max, path) : def;
        int steps = I("steps", d.Steps, 1, SweepBudget.MaxSteps);
        int checkpoints = I("checkpoints", d.Checkpoints, 1, 1000);
        if (checkpoints > steps) throw new InvalidFileException(path, $"field 'budget.checkpoints': {checkpoints} is more than the {steps} steps");
        string schedule = d.Schedule;
        if (b.TryGetProperty("schedule", out var s))
        {
            schedule = Text(s, "budget.schedule", path);
            if (!OptimizerFactory.Schedules.Contains(schedule))
                throw new InvalidFileException(path,
                    $"field 'budget.schedule': '{schedule}' is unknown, expected {string.Join(", ", OptimizerFactory.Schedules)}");
        }
        long dataSeed = b.TryGetProperty("data_seed", out var ds) ? Integer(ds, "budget.data_seed", 0, int.MaxValue, path) : d.DataSeed;
        return new SweepBudget(steps, checkpoints, schedule, I("train_images", d.TrainImages, 1, int.MaxValue),
            I("train_eval_images", d.TrainEvalImages, 1, int.MaxValue), I("test_images", d.TestImages, 1, int.MaxValue), dataSeed);
    }

    private static List<(Dictionary<string, JsonElement> Axes, string Field)> GridCombinations(
        JsonElement grid, Dictionary<string, JsonElement> fixedAxes, string path)
    {
        RequireObject(grid, "grid", path);
        CheckKeys(grid, SweepCell.Axes, "grid.", path);
        var axes = grid.EnumerateObject().ToList();
        if (axes.Count == 0) throw new InvalidFileException(path, "field 'grid': names no axis; give at least one, e.g. \"lr\": [0.001, 0.01]");
        long count = 1;
        foreach (var a in axes)
        {
            if (fixedAxes.ContainsKey(a.Name)) throw new InvalidFileException(path, $"field 'grid.{a.Name}': also set in 'fixed'");
            if (a.Value.ValueKind != JsonValueKind.Array || a.Value.GetArrayLength() == 0)
                throw new InvalidFileException(path, $"field 'grid.{a.Name}': must be a non-empty array of values");
            count *= a.Value.GetArrayLength();
            if (count > SweepSpec.MaxCells)
                throw new InvalidFileException(path, $"field 'grid': more than {SweepSpec.MaxCells} cells; split the sweep or drop values");
        }
        var result = new List<(Dictionary<string, JsonElement>, string)>();
        var index = new int[axes.Count];
        for (long k = 0; k < count; k++)
        {
            var cell = new Dictionary<string, JsonElement>(fixedAxes);
            var field = new List<string>();
            for (int a = 0; a < axes.Count; a++)
            {
                cell[axes[a].Name] = axes[a].Value[index[a]];
                field.Add($"grid.{axes[a].Name}[{index[a]}]");
            }
            result.Add((cell, string.Join(" × ", field)));
            for (int a = axes.Count - 1; a >= 0 && ++index[a] == axes[a].Value.GetArrayLength(); a--) index[a] = 0;
        }
        return result;
    }

    private static List<(Dictionary<string, JsonElement> Axes, string Field)> ListCells(
        JsonElement list, Dictionary<string, JsonElement> fixedAxes, string path)
    {
        if (list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
            throw new InvalidFileException(path, "field 'cells': must be a non-empty array of cells");
        if (list.GetArrayLength() > SweepSpec.MaxCells)
            throw new InvalidFileException(path, $"field 'cells': {list.GetArrayLength()} cells, more than {SweepSpec.MaxCells}");
        var result = new List<(Dictionary<string, JsonElement>, string)>();
        int i = 0;
        foreach (var c in list.EnumerateArray())
        {
            string field = $"cells[{i++}]";
            RequireObject(c, field, path);
            CheckKeys(c, SweepCell.Axes, field + ".", path);
            var cell = new Dictionary<string, JsonElement>(fixedAxes);
            foreach (var p in c.EnumerateObject()) cell[p.Name] = p.Value;
            result.Add((cell, field));
        }
        return result;
    }

    private static SweepCell ToCell(Dictionary<string, JsonElement> axes, string field, string path)
    {
        var d = SweepCell.Default;
        string F(string axis) => $"{field} ({axis})";
        string Str(string axis, string def) => axes.TryGetValue(axis, out var v) ? Text(v, F(axis), path) : def;
        var cell = new SweepCell(
            Model: Str("model", d.Model), Init: Str("init", d.Init), Optimizer: Str("optimizer", d.Optimizer),
            Lr: axes.TryGetValue("lr", out var lr) ? Positive(lr, F("lr"), path) : d.Lr,
            WeightDecay: axes.TryGetValue("weight_decay", out var wd) ? NonNegative(wd, F("weight_decay"), path) : d.WeightDecay,
            Pool: Str("pool", d.Pool), ReluOrder: Str("relu_order", d.ReluOrder),
            BatchNorm: axes.TryGetValue("batch_norm", out var bn) ? Bool(bn, F("batch_norm"), path) : d.BatchNorm,
            BatchSize: axes.TryGetValue("batch_size", out var bs) ? Integer(bs, F("batch_size"), 1, 65536, path) : d.BatchSize,
            Seed: axes.TryGetValue("seed", out var seed) ? Integer(seed, F("seed"), 0, int.MaxValue, path) : d.Seed,
            Data: Str("data", d.Data));
        void Check(bool ok, string axis, string expected)
        {
            if (!ok) throw new InvalidFileException(path, $"field '{F(axis)}': '{cell.Value(axis)}' is not valid, expected {expected}");
        }
        Check(ModelZoo.IsKnown(cell.Model), "model", "a zoo model (" + string.Join(", ", ModelZoo.Catalog.Select(c => c.Name)) + ")");
        Check(OptimizerFactory.Optimizers.Contains(cell.Optimizer), "optimizer", string.Join(", ", OptimizerFactory.Optimizers));
        Check(cell.Pool is "max" or "avg" or "conv", "pool", "max, avg or conv");
        Check(cell.ReluOrder is "before-pool" or "after-pool", "relu_order", "before-pool or after-pool");
        Check(cell.BatchNorm is null || ModelZoo.HasBatchNormVariant(cell.Model), "batch_norm",
            "batch_norm only with model cnn-small or cnn-bn (it switches between the two)");
        Check(cell.Data.Length > 0, "data", "subset, full, or a folder of IDX files");
        try { InitScheme.Parse(cell.Init); }
        catch (ArgumentException e) { throw new InvalidFileException(path, $"field '{F("init")}': {e.Message}"); }
        return cell;
    }

    private static void CheckKeys(JsonElement o, string[] allowed, string prefix, string path)
    {
        foreach (var p in o.EnumerateObject())
            if (!allowed.Contains(p.Name))
                throw new InvalidFileException(path, $"field '{prefix}{p.Name}' is unknown; expected one of {string.Join(", ", allowed)}");
    }

    private static void RequireObject(JsonElement e, string field, string path)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new InvalidFileException(path, $"field '{field}': must be an object");
    }

    private static string Text(JsonElement e, string field, string path) =>
        e.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(e.GetString())
            ? e.GetString()!
            : throw new InvalidFileException(path, $"field '{field}': must be a non-empty string, got {Show(e)}");

    private static bool Bool(JsonElement e, string field, string path) => e.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw new InvalidFileException(path, $"field '{field}': must be true or false, got {Show(e)}"),
    };

    private static int Integer(JsonElement e, string field, int min, int max, string path) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int v) && v >= min && v <= max
            ? v
            : throw new InvalidFileException(path, $"field '{field}': must be an integer from {min} to {max}, got {Show(e)}");

    private static double Positive(JsonElement e, string field, string path) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out double v) && v > 0 && double.IsFinite(v)
            ? v
            : throw new InvalidFileException(path, $"field '{field}': must be a positive number, got {Show(e)}");

    private static double NonNegative(JsonElement e, string field, string path) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out double v) && v >= 0 && double.IsFinite(v)
            ? v
            : throw new InvalidFileException(path, $"field '{field}': must be a number >= 0, got {Show(e)}");

    private static string Show(JsonElement e)
    {
        var raw = e.GetRawText();
        return raw.Length <= 40 ? raw : raw[..40] + "…";
    }
}
