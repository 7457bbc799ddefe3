using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CnnLab.Lab;

/// <summary>JSON for results files: NaN and infinities become null; arrays and dictionaries nest.</summary>
public static class LabJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static JsonNode? ToNode(object? value) => value switch
    {
        null => null,
        double d => double.IsFinite(d) ? JsonValue.Create(d) : null,
        float f => float.IsFinite(f) ? JsonValue.Create((double)f) : null,
        int i => JsonValue.Create(i),
        long l => JsonValue.Create(l),
        bool b => JsonValue.Create(b),
        string s => JsonValue.Create(s),
        System.Collections.IDictionary dict => ToObject(dict),
        System.Collections.IEnumerable list => new JsonArray(list.Cast<object?>().Select(ToNode).ToArray()),
        _ => JsonValue.Create(value.ToString()),
    };

    private static JsonObject ToObject(System.Collections.IDictionary dict)
    {
        var o = new JsonObject();
        foreach (System.Collections.DictionaryEntry e in dict) o[e.Key.ToString()!] = ToNode(e.Value);
        return o;
    }

    /// <summary>The per-experiment object: claim, verdict, agrees, metrics, figures, seconds.</summary>
    public static JsonObject ResultNode(ExperimentResult r) => new()
    {
        ["claim"] = r.Claim,
        ["verdict"] = r.Verdict,
        ["agrees"] = r.Agrees,
        ["metrics"] = ToObject(r.Metrics),
        ["figures"] = new JsonArray(r.Figures.Select(f =>
            (JsonNode)new JsonObject { ["png"] = Path.GetFileName(f.Png), ["svg"] = Path.GetFileName(f.Svg), ["caption"] = f.Caption }).ToArray()),
        ["seconds"] = r.Seconds,
    };
}
