using System.Globalization;
using System.Text.Json;
using CnnLab.Init.Networks;
using CnnLab.Nn.Models;
using CnnLab.Training;

namespace CnnLab.Web;

/// <summary>
/// The Playground's form, a JSON object, turned into a <see cref="TrainingConfig"/> with the CLI's rules and messages
/// (<see cref="TrainingConfig.Validate"/>, the zoo's names, the init schemes, pool and ReLU order). Every problem is an
/// <see cref="ArgumentException"/> with one line, which the endpoint answers with 400.
/// </summary>
internal static class PlaygroundRequest
{
    /// <summary>The fields the form may send, by the CLI option they stand for.</summary>
    public static readonly string[] Fields =
        ["model", "init", "optimizer", "lr", "weight_decay", "momentum", "schedule", "pool", "relu_order", "batch_size", "epochs",
         "max_steps", "seed"];

    public static TrainingConfig Parse(JsonElement body, int threads)
    {
        if (body.ValueKind != JsonValueKind.Object) throw new ArgumentException("the request body must be a JSON object of training options");
        foreach (var p in body.EnumerateObject())
            if (!Fields.Contains(p.Name))
                throw new ArgumentException($"unknown field '{p.Name}': expected {string.Join(", ", Fields)}");
        var d = new TrainingConfig();
        string model = Text(body, "model") ?? d.Model;
        // Zoo names only: a spec path would let a page make the server read any file.
        if (!ModelZoo.IsKnown(model))
            throw new ArgumentException($"--model '{model}' is not a zoo model: expected one of " +
                $"{string.Join(", ", ModelZoo.Catalog.Select(c => c.Name))} (see 'cnnlab models')");
        string init = Text(body, "init") ?? d.Init;
        InitScheme.Parse(init);
        string pool = Text(body, "pool") ?? d.Pool;
        ModelOptions.ParsePool(pool);
        string reluOrder = Text(body, "relu_order") ?? d.ReluOrder;
        ModelOptions.ParseReluOrder(reluOrder);
        var config = d with
        {
            Model = model, Init = init, Pool = pool, ReluOrder = reluOrder,
            Optimizer = (Text(body, "optimizer") ?? d.Optimizer).ToLowerInvariant(),
            Schedule = (Text(body, "schedule") ?? d.Schedule).ToLowerInvariant(),
            Lr = Number(body, "lr") ?? d.Lr,
            WeightDecay = Number(body, "weight_decay"),
            Momentum = Number(body, "momentum") ?? d.Momentum,
            BatchSize = (int)(Integer(body, "batch_size", int.MinValue, int.MaxValue) ?? d.BatchSize),
            Epochs = (int)(Integer(body, "epochs", int.MinValue, int.MaxValue) ?? d.Epochs),
            MaxSteps = Integer(body, "max_steps", long.MinValue, long.MaxValue),
            Seed = Integer(body, "seed", long.MinValue, long.MaxValue) ?? d.Seed,
            Threads = threads,
        };
        config.Validate();
        return config;
    }

    // A field left empty in the form counts as not given: the CLI's default.
    private static bool Given(JsonElement body, string name, out JsonElement value) =>
        body.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null
        && !(value.ValueKind == JsonValueKind.String && string.IsNullOrWhiteSpace(value.GetString()));

    private static string? Text(JsonElement body, string name)
    {
        if (!Given(body, name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.String) throw new ArgumentException($"--{Option(name)} must be a string, got {v.GetRawText()}");
        return v.GetString()!.Trim();
    }

    private static double? Number(JsonElement body, string name)
    {
        if (!Given(body, name, out var v)) return null;
        if (v.ValueKind == JsonValueKind.Number) return v.GetDouble();
        if (v.ValueKind == JsonValueKind.String && double.TryParse(v.GetString(), NumberStyles.Float,
                CultureInfo.InvariantCulture, out double parsed)) return parsed;
        throw new ArgumentException($"--{Option(name)} must be a number, got {v.GetRawText()}");
    }

    private static long? Integer(JsonElement body, string name, long min, long max)
    {
        double? value = Number(body, name);
        if (value is not double x) return null;
        if (x != Math.Floor(x) || x < min || x > max)
            throw new ArgumentException($"--{Option(name)} must be a whole number, got {x.ToString(CultureInfo.InvariantCulture)}");
        return (long)x;
    }

    private static string Option(string field) => field.Replace('_', '-');
}
