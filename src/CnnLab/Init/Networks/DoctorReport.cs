using System.Globalization;
using System.Text;
using System.Text.Json;

namespace CnnLab.Init.Networks;

/// <summary>
/// The init doctor's findings: a row per weight layer and the warnings. <see cref="ToJson"/> for scripts, <see cref="ToText"/> for people.
/// </summary>
/// <remarks>PyTorch: no counterpart.</remarks>
public sealed class DoctorReport(IReadOnlyList<DoctorLayer> layers, IReadOnlyList<DoctorWarning> warnings, double loss)
{
    public IReadOnlyList<DoctorLayer> Layers { get; } = layers;

    public IReadOnlyList<DoctorWarning> Warnings { get; } = warnings;

    /// <summary>The loss of the diagnostic forward pass.</summary>
    public double Loss { get; } = loss;

    /// <summary>
    /// One JSON document: <c>{"layers":[{"name","activation","fan_in","fan_out","gain","weight_std","predicted_mean",
    /// "predicted_std","activation_mean","activation_std","grad_std","dead_fraction","std_ratio"}],
    /// "warnings":[{"layer","message","fix"}],"loss"}</c>; values that do not exist are null.
    /// </summary>
    public string ToJson(bool indented = true)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = indented }))
        {
            w.WriteStartObject();
            w.WriteStartArray("layers");
            foreach (var l in Layers)
            {
                w.WriteStartObject();
                w.WriteString("name", l.Name);
                w.WriteString("activation", l.Activation);
                w.WriteNumber("fan_in", l.FanIn);
                w.WriteNumber("fan_out", l.FanOut);
                Number(w, "gain", l.Gain);
                Number(w, "weight_std", l.WeightStd);
                Number(w, "predicted_mean", l.PredictedMean);
                Number(w, "predicted_std", l.PredictedStd);
                Number(w, "activation_mean", l.ActivationMean);
                Number(w, "activation_std", l.ActivationStd);
                Number(w, "grad_std", l.GradStd);
                Number(w, "dead_fraction", l.DeadFraction ?? double.NaN);
                Number(w, "std_ratio", l.StdRatio);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("warnings");
            foreach (var warning in Warnings)
            {
                w.WriteStartObject();
                w.WriteString("layer", warning.Layer);
                w.WriteString("message", warning.Message);
                w.WriteString("fix", warning.Fix);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            Number(w, "loss", Loss);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void Number(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value)) w.WriteNumber(name, value);
        else w.WriteNull(name);
    }

    /// <summary>A table (one row per weight layer) followed by the warnings with their fixes.</summary>
    public string ToText()
    {
        static string F(double v) => double.IsFinite(v) ? v.ToString("G3", CultureInfo.InvariantCulture) : "-";
        string[] head = ["layer", "act", "fan_in", "fan_out", "gain", "w_std", "pred_mean", "pred_std", "mean", "std", "ratio", "grad_std", "dead"];
        var rows = new List<string[]> { head };
        foreach (var l in Layers)
            rows.Add([l.Name, l.Activation, l.FanIn.ToString(CultureInfo.InvariantCulture), l.FanOut.ToString(CultureInfo.InvariantCulture),
                F(l.Gain), F(l.WeightStd), F(l.PredictedMean), F(l.PredictedStd), F(l.ActivationMean), F(l.ActivationStd),
                F(l.StdRatio), F(l.GradStd), l.DeadFraction is double d ? d.ToString("P0", CultureInfo.InvariantCulture) : "-"]);
        var widths = Enumerable.Range(0, head.Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        var sb = new StringBuilder();
        foreach (var r in rows)
        {
            for (int c = 0; c < r.Length; c++)
                sb.Append(c < 2 ? r[c].PadRight(widths[c]) : r[c].PadLeft(widths[c])).Append(c + 1 < r.Length ? "  " : "");
            sb.Append('\n');
        }
        sb.Append(CultureInfo.InvariantCulture,
            $"(pred = variance propagation from the input batch; mean/std = measured; ratio = std / previous layer's std; loss {F(Loss)})\n");
        if (Warnings.Count == 0) sb.Append("\nNo warnings.\n");
        foreach (var w in Warnings)
            sb.Append(CultureInfo.InvariantCulture, $"\nWARNING [{w.Layer}] {w.Message}\n  fix: {w.Fix}\n");
        return sb.ToString();
    }
}
