using System.Globalization;
using System.Text.Json;
using CnnLab.Tensors;

namespace CnnLab.Optim;

/// <summary>
/// An optimizer's saved state, shaped like PyTorch's <c>optimizer.state_dict()</c>:
/// <see cref="State"/> maps a parameter's index (counted across all groups in order) to its step count
/// and buffers; <see cref="ParamGroups"/> holds each group's hyper-parameters under PyTorch's keys
/// plus <c>"params"</c>, the indices of its parameters.
/// For a checkpoint, <see cref="ToTensors"/> flattens the state to named tensors for a safetensors file
/// (<c>state.3.exp_avg</c>, <c>state.3.step</c>, a scalar) and <see cref="ParamGroupsToJson"/> gives the
/// groups as JSON (e.g. for the file's metadata); <see cref="FromTensors"/> reads both back.
/// </summary>
/// <remarks>PyTorch: the dict returned by <c>torch.optim.Optimizer.state_dict()</c>.</remarks>
public sealed class OptimizerStateDict
{
    /// <summary>Per-parameter state by parameter index.</summary>
    public SortedDictionary<int, ParamState> State { get; } = new();

    /// <summary>Each group's hyper-parameters (double, bool, string, double[]) and "params" (int[]).</summary>
    public List<Dictionary<string, object>> ParamGroups { get; } = [];

    /// <summary>The state as named tensors: <c>state.{index}.step</c> (a float32 scalar, exact up to 2^24
    /// steps, as PyTorch's Adam keeps it) and <c>state.{index}.{buffer}</c>.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> ToTensors()
    {
        foreach (var (index, s) in State)
        {
            yield return new($"state.{index}.step", Tensor.Scalar(s.Step));
            foreach (var (name, buf) in s.Buffers) yield return new($"state.{index}.{name}", buf);
        }
    }

    /// <summary>The groups as a JSON array (PyTorch's keys).</summary>
    public string ParamGroupsToJson() => JsonSerializer.Serialize(ParamGroups);

    /// <summary>Rebuilds a state dict from <see cref="ToTensors"/>' tensors (other names are ignored unless
    /// they start with "state.") and <see cref="ParamGroupsToJson"/>' text.</summary>
    public static OptimizerStateDict FromTensors(IEnumerable<KeyValuePair<string, Tensor>> tensors, string paramGroupsJson)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(paramGroupsJson);
        var sd = new OptimizerStateDict();
        using (var doc = JsonDocument.Parse(paramGroupsJson))
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Array) throw new ArgumentException("optimizer param_groups JSON must be an array");
            foreach (var g in doc.RootElement.EnumerateArray())
            {
                if (g.ValueKind != JsonValueKind.Object) throw new ArgumentException("each optimizer param group must be a JSON object");
                var d = new Dictionary<string, object>();
                foreach (var p in g.EnumerateObject()) d[p.Name] = p.Value.Clone();
                sd.ParamGroups.Add(d);
            }
        }
        foreach (var (key, t) in tensors)
        {
            if (!key.StartsWith("state.", StringComparison.Ordinal)) continue;
            var parts = key.Split('.', 3);
            if (parts.Length != 3 || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int index))
                throw new ArgumentException($"optimizer state tensor '{key}' is not named state.<index>.<name>");
            if (!sd.State.TryGetValue(index, out var s)) sd.State[index] = s = new ParamState();
            if (parts[2] == "step")
            {
                if (t.Numel != 1) throw new ArgumentException($"'{key}' must hold one number, it has shape {Shape.Format(t.Shape)}");
                float v = t.Elements[0];
                if (!(v >= 0) || v != MathF.Floor(v)) throw new ArgumentException($"'{key}' must be a non-negative integer, got {v}");
                s.Step = (long)v;
            }
            else s.Buffers.Add(parts[2], t.Clone());
        }
        return sd;
    }

    internal static int[] ParamIndices(object o) => o switch
    {
        int[] a => a,
        JsonElement { ValueKind: JsonValueKind.Array } e => e.EnumerateArray().Select(x => x.GetInt32()).ToArray(),
        _ => throw new ArgumentException($"param group 'params' must be an array of indices, got {o}"),
    };
}
