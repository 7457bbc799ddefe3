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
         "max_steps", "seed", "spec", "batch_norm"];

    /// <summary>The most UTF-8 bytes of spec text a form may paste (a spec of a few hundred layers fits).</summary>
    public const int MaxSpecBytes = 64 * 1024;

    public static TrainingConfig Parse(JsonElement body, int threads)
    {
        if (body.ValueKind != JsonValueKind.Object) throw new ArgumentException("the request body must be a JSON object of training options");
        foreach (var p in body.EnumerateObject())
            if (!Fields.Contains(p.Name))
                throw new ArgumentException($"unknown field '{p.Name}': expected {string.Join(", ", Fields)}");
        var d = new TrainingConfig();
        string? named = Text(body, "model");
        string? spec = Text(body, "spec");
        if (named is not null && spec is not null)
            throw new ArgumentException("give either a zoo model or a model spec, not both");
        string model = named ?? d.Model;
        // Zoo names only: a spec path would let a page make the server read any file. A spec comes as its text.
        if (spec is not null) model = SpecModel(spec);
        else if (!ModelZoo.IsKnown(model))
            throw new ArgumentException($"--model '{model}' is not a zoo model: expected one of " +
                $"{string.Join(", ", ModelZoo.Catalog.Select(c => c.Name))} (see 'cnnlab models')");
        if (Flag(body, "batch_norm") is bool batchNorm)
            model = spec is null ? ModelZoo.WithBatchNorm(model, batchNorm)
                : throw new ArgumentException("batch_norm switches only zoo models: a spec says its own layers");
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
            ModelSpecJson = spec,
        };
        config.Validate();
        return config;
    }

    // The spec text checked as the CLI checks a spec file (the parser's message, naming "model spec"), and the name the run
    // records: the spec's own name when it is a plain one that no zoo model or file path could be taken for, else "spec".
    private static string SpecModel(string spec)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(spec) > MaxSpecBytes)
            throw new ArgumentException($"the model spec is over {MaxSpecBytes / 1024} KiB");
        var (_, _, name) = ModelSpec.Parse(spec, "model spec", new Tensors.Generator(0));
        bool plain = name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
            && name != "model spec";
        return plain && !ModelZoo.IsKnown(name) ? name : "spec";
    }

    private static bool? Flag(JsonElement body, string name)
    {
        if (!Given(body, name, out var v)) return null;
        if (v.ValueKind is JsonValueKind.True or JsonValueKind.False) return v.GetBoolean();
        return v.ValueKind == JsonValueKind.String ? v.GetString()!.Trim().ToLowerInvariant() switch
        {
            "on" or "true" or "yes" => true,
            "off" or "false" or "no" => false,
            _ => throw new ArgumentException($"--{Option(name)} must be on or off, got {v.GetRawText()}"),
        } : throw new ArgumentException($"--{Option(name)} must be on or off, got {v.GetRawText()}");
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
