using System.Text.Json;

namespace CnnLab.IO;

/// <summary>
/// System.Text.Json accepts escapes such as <c>"\ud800"</c> (a lone UTF-16 surrogate) while parsing
/// but throws <see cref="InvalidOperationException"/> when such a name or string is read later.
/// Readers of untrusted JSON call <see cref="Check"/> once after parsing, so that this becomes an
/// <see cref="InvalidFileException"/> like every other format error.
/// </summary>
internal static class JsonStrings
{
    public static void Check(JsonElement e, string path)
    {
        try
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (var p in e.EnumerateObject()) { _ = p.Name; Check(p.Value, path); }
                    break;
                case JsonValueKind.Array:
                    foreach (var item in e.EnumerateArray()) Check(item, path);
                    break;
                case JsonValueKind.String:
                    _ = e.GetString();
                    break;
            }
        }
        catch (InvalidOperationException)
        {
            string raw = e.GetRawText();
            throw new InvalidFileException(path,
                $"JSON string in {(raw.Length <= 40 ? raw : raw[..40] + "...")} holds an unpaired UTF-16 surrogate escape");
        }
    }
}
