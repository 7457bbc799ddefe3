using System.Globalization;
using System.Text.Json;

namespace CnnLab.Optim;

/// <summary>
/// The hyper-parameters of one parameter group. Every optimizer has a learning rate and a weight
/// decay; subclasses add their own (momentum, betas, ...). Each group holds its own copy, so groups
/// can differ in any option.
/// </summary>
/// <remarks>PyTorch: the entries of <c>optimizer.param_groups[i]</c> other than <c>params</c>
/// (a dict there, a typed class here; <see cref="ToDictionary"/> gives the dict with PyTorch's keys).</remarks>
public abstract class OptimizerOptions
{
    /// <summary>Learning rate.</summary>
    public double Lr { get; set; }

    /// <summary>Weight decay λ (how it is applied depends on the optimizer).</summary>
    public double WeightDecay { get; set; }

    /// <summary>A copy (each group owns one).</summary>
    public OptimizerOptions Clone() => (OptimizerOptions)MemberwiseClone();

    /// <summary>Throws <see cref="ArgumentException"/> with PyTorch's message for an invalid value.</summary>
    public virtual void Validate()
    {
        if (!(Lr >= 0)) throw new ArgumentException($"Invalid learning rate: {Format(Lr)}");
        if (!(WeightDecay >= 0)) throw new ArgumentException($"Invalid weight_decay value: {Format(WeightDecay)}");
    }

    /// <summary>The options as a JSON-able dictionary with PyTorch's keys (values are double, bool, string or double[]).</summary>
    public Dictionary<string, object> ToDictionary()
    {
        var d = new Dictionary<string, object> { ["lr"] = Lr, ["weight_decay"] = WeightDecay };
        Write(d);
        return d;
    }

    /// <summary>Sets every option present in <paramref name="values"/> (as written by <see cref="ToDictionary"/>, or read back from JSON).</summary>
    public void LoadDictionary(IReadOnlyDictionary<string, object> values)
    {
        if (values.TryGetValue("lr", out var lr)) Lr = ToDouble(lr, "lr");
        if (values.TryGetValue("weight_decay", out var wd)) WeightDecay = ToDouble(wd, "weight_decay");
        Read(values);
    }

    /// <summary>Adds the subclass's options to <paramref name="d"/>.</summary>
    protected abstract void Write(Dictionary<string, object> d);

    /// <summary>Reads the subclass's options from <paramref name="d"/> (keys that are absent keep their value).</summary>
    protected abstract void Read(IReadOnlyDictionary<string, object> d);

    /// <summary>A number the way Python's <c>str(float)</c> prints it in PyTorch's messages ("-1", "0.5", "1e-08").</summary>
    public static string Format(double x) => x == Math.Floor(x) && Math.Abs(x) < 1e16
        ? x.ToString("0", CultureInfo.InvariantCulture)
        : x.ToString("R", CultureInfo.InvariantCulture).Replace("E-0", "e-0", StringComparison.Ordinal).Replace("E", "e", StringComparison.Ordinal);

    internal static double ToDouble(object o, string key) => o switch
    {
        double d => d,
        float f => f,
        int i => i,
        long l => l,
        JsonElement { ValueKind: JsonValueKind.Number } e => e.GetDouble(),
        _ => throw new ArgumentException($"optimizer option '{key}' must be a number, got {o}"),
    };

    internal static bool ToBool(object o, string key) => o switch
    {
        bool b => b,
        JsonElement { ValueKind: JsonValueKind.True } => true,
        JsonElement { ValueKind: JsonValueKind.False } => false,
        _ => throw new ArgumentException($"optimizer option '{key}' must be true or false, got {o}"),
    };

    internal static string ToText(object o, string key) => o switch
    {
        string s => s,
        JsonElement { ValueKind: JsonValueKind.String } e => e.GetString()!,
        _ => throw new ArgumentException($"optimizer option '{key}' must be a string, got {o}"),
    };

    internal static double[] ToDoubles(object o, string key) => o switch
    {
        double[] a => a,
        IEnumerable<double> a => a.ToArray(),
        JsonElement { ValueKind: JsonValueKind.Array } e => e.EnumerateArray().Select(x => x.GetDouble()).ToArray(),
        _ => throw new ArgumentException($"optimizer option '{key}' must be an array of numbers, got {o}"),
    };
}

/// <summary>Options that have a momentum coefficient that <see cref="Schedules.OneCycleLR"/> can cycle
/// (SGD's and RMSprop's <c>momentum</c>, Adam's β1).</summary>
public interface IMomentumOptions
{
    /// <summary>The momentum coefficient (β1 for Adam/AdamW).</summary>
    double Momentum { get; set; }
}
