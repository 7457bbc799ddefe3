using System.Globalization;

namespace CnnLab.Serialization.PyTorch;

/// <summary>
/// Values written as Python source: numbers that read back as the same float32 or float64, <c>True</c>/<c>False</c>,
/// <c>None</c>, string and list literals. The generated project's constants are CnnLab's values exactly.
/// </summary>
public static class PythonLiteral
{
    /// <summary>The shortest decimal that reads back as the same float32 (Python parses it as the nearest double).</summary>
    public static string Of(float value) => Number(value.ToString("R", CultureInfo.InvariantCulture));

    /// <summary>The shortest decimal that Python reads back as the same double.</summary>
    public static string Of(double value) => Number(value.ToString("R", CultureInfo.InvariantCulture));

    public static string Of(long value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Of(bool value) => value ? "True" : "False";

    /// <summary>A double-quoted string literal (backslashes, quotes and control characters escaped).</summary>
    public static string Of(string value)
    {
        var s = new System.Text.StringBuilder("\"");
        foreach (char c in value)
            s.Append(c switch
            {
                '\\' => "\\\\",
                '"' => "\\\"",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when c < ' ' => $"\\x{(int)c:x2}",
                _ => c.ToString(),
            });
        return s.Append('"').ToString();
    }

    /// <summary>A number, or <c>None</c> for null.</summary>
    public static string OrNone(double? value) => value is double d ? Of(d) : "None";

    /// <summary>A number, or <c>None</c> for null.</summary>
    public static string OrNone(long? value) => value is long l ? Of(l) : "None";

    /// <summary>A tuple literal (with the trailing comma a one-element tuple needs).</summary>
    public static string Tuple(IEnumerable<string> items)
    {
        var list = items.ToList();
        return list.Count == 1 ? $"({list[0]},)" : $"({string.Join(", ", list)})";
    }

    /// <summary>A list literal.</summary>
    public static string List(IEnumerable<string> items) => $"[{string.Join(", ", items)}]";

    // Python spells exponents "1e-05" and needs a point in a float literal ("1.0", not "1").
    private static string Number(string text)
    {
        if (text is "NaN" or "Infinity" or "-Infinity") throw new ArgumentException($"{text} has no Python literal here");
        text = text.Replace("E", "e", StringComparison.Ordinal);
        int e = text.IndexOf('e', StringComparison.Ordinal);
        if (e < 0) return text.Contains('.', StringComparison.Ordinal) ? text : text + ".0";
        string exponent = text[(e + 1)..];
        string sign = exponent.StartsWith('-') ? "-" : "+";
        return $"{text[..e]}e{sign}{exponent.TrimStart('+', '-').PadLeft(2, '0')}";
    }
}
