using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using CnnLab.Nn.Models;
using CnnLab.Training;

namespace CnnLab.Lab.Sweeps;

/// <summary>
/// One configuration of a sweep: every axis a grid file may vary, with its value for this cell.
/// <see cref="WeightDecay"/> null means the optimizer's own default (PyTorch's: 0.01 for AdamW, 0 otherwise).
/// </summary>
/// <param name="Model">Zoo model name, e.g. "lenet5".</param>
/// <param name="Init">Initialization scheme (<c>CnnLab.Init.Networks.InitScheme</c>); "pytorch-default" leaves the layers' own.</param>
/// <param name="Optimizer">sgd | adam | adamw | adamw-paper | rmsprop (<see cref="OptimizerFactory"/>).</param>
/// <param name="Lr">Initial learning rate.</param>
/// <param name="WeightDecay">λ (L2 for sgd/adam/rmsprop, decoupled for adamw); null for the optimizer's default.</param>
/// <param name="Pool">max | avg | conv.</param>
/// <param name="ReluOrder">before-pool | after-pool.</param>
/// <param name="BatchNorm">cnn-small with (cnn-bn) or without BatchNorm; null leaves the model as named.</param>
/// <param name="BatchSize">Images per step.</param>
/// <param name="Seed">Seed of the weights and of the data order.</param>
/// <param name="Data">"subset" (the embedded 6,000/1,000 images), "full" (the installed Fashion-MNIST) or a folder of IDX files.</param>
public sealed record SweepCell(
    string Model, string Init, string Optimizer, double Lr, double? WeightDecay, string Pool, string ReluOrder, bool? BatchNorm,
    int BatchSize, long Seed, string Data)
{
    /// <summary>The axes a grid file may name, in the order the report lists them.</summary>
    public static readonly string[] Axes =
        ["model", "init", "optimizer", "lr", "weight_decay", "pool", "relu_order", "batch_norm", "batch_size", "seed", "data"];

    /// <summary>A cell with every axis at its default (what a grid file's missing axes take).</summary>
    public static SweepCell Default { get; } = new("cnn-small", "pytorch-default", "adamw", 1e-3, null, "max", "before-pool", null, 64, 0, "subset");

    /// <summary>The zoo model that is built: cnn-small/cnn-bn switched by <see cref="BatchNorm"/>.</summary>
    public string BuiltModel => BatchNorm is bool bn && ModelZoo.HasBatchNormVariant(Model) ? ModelZoo.WithBatchNorm(Model, bn) : Model;

    /// <summary>The value of <paramref name="axis"/> as the report prints it ("1e-3", "adamw", "default").</summary>
    public string Value(string axis) => axis switch
    {
        "model" => Model,
        "init" => Init,
        "optimizer" => Optimizer,
        "lr" => Number(Lr),
        "weight_decay" => WeightDecay is double wd ? Number(wd) : "default",
        "pool" => Pool,
        "relu_order" => ReluOrder,
        "batch_norm" => BatchNorm is bool bn ? (bn ? "yes" : "no") : "as named",
        "batch_size" => BatchSize.ToString(CultureInfo.InvariantCulture),
        "seed" => Seed.ToString(CultureInfo.InvariantCulture),
        "data" => Data,
        _ => throw new ArgumentException($"unknown sweep axis '{axis}': expected one of {string.Join(", ", Axes)}"),
    };

    /// <summary>"optimizer=adam, lr=1e-3" over <paramref name="axes"/> (the varied ones).</summary>
    public string Describe(IEnumerable<string> axes)
    {
        var parts = axes.Select(a => $"{a}={Value(a)}").ToArray();
        return parts.Length == 0 ? "the one configuration" : string.Join(", ", parts);
    }

    /// <summary>The training configuration the library's <see cref="OptimizerFactory"/> reads.</summary>
    public TrainingConfig ToConfig(string schedule) => new()
    {
        Model = BuiltModel, Init = Init, Optimizer = Optimizer, Lr = Lr, WeightDecay = WeightDecay, Pool = Pool, ReluOrder = ReluOrder,
        BatchSize = BatchSize, Seed = Seed, Schedule = schedule, Threads = 1,
    };

    /// <summary>Every axis as JSON (the cell's record in its result file and the input of <see cref="Id"/>).</summary>
    public JsonObject ToJson() => new()
    {
        ["model"] = Model, ["init"] = Init, ["optimizer"] = Optimizer, ["lr"] = Lr, ["weight_decay"] = WeightDecay, ["pool"] = Pool,
        ["relu_order"] = ReluOrder, ["batch_norm"] = BatchNorm, ["batch_size"] = BatchSize, ["seed"] = Seed, ["data"] = Data,
    };

    /// <summary>
    /// The cell's folder name: the first 12 hex digits of SHA-256 over the cell and the budget, so that a rerun finds the cells
    /// it already finished even when the grid file lists them in another order, and a changed budget runs them again.
    /// </summary>
    public string Id(SweepBudget budget)
    {
        var text = ToJson().ToJsonString() + budget.ToJson().ToJsonString();
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..12];
    }

    private static string Number(double v) => v.ToString("0.####e0", CultureInfo.InvariantCulture);
}
