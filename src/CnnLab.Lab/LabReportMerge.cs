using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CnnLab.IO;

namespace CnnLab.Lab;

/// <summary>
/// Puts one re-run experiment into an existing report: <see cref="LabRunner.Run"/> writes it (alone) into a staging folder,
/// and this replaces that experiment's folder, its entry in the combined results.json, and its section and contents line in
/// index.html, leaving every other experiment as it was (the count of agreements is recomputed).
/// </summary>
public static class LabReportMerge
{
    public static void Replace(string reportDir, string stagedDir, string name)
    {
        string target = Path.Combine(reportDir, name), staged = Path.Combine(stagedDir, name);
        if (Directory.Exists(target)) Directory.Delete(target, recursive: true);
        if (Directory.Exists(staged)) Directory.Move(staged, target);
        string results = Path.Combine(reportDir, "results.json"), index = Path.Combine(reportDir, "index.html");
        string freshResults = File.ReadAllText(Path.Combine(stagedDir, "results.json"));
        string freshHtml = File.ReadAllText(Path.Combine(stagedDir, "index.html"));
        if (!File.Exists(results) || !File.Exists(index))
        {
            // No report yet: the staged one (this experiment alone) is the report.
            AtomicFile.WriteAllText(results, freshResults);
            AtomicFile.WriteAllText(index, freshHtml);
            return;
        }
        var all = JsonNode.Parse(File.ReadAllText(results))?.AsObject()
            ?? throw new InvalidFileException(results, "is not a JSON object");
        if (all["experiments"] is not JsonObject experiments)
            all["experiments"] = experiments = [];
        experiments[name] = JsonNode.Parse(freshResults)?["experiments"]?[name]?.DeepClone();
        AtomicFile.WriteAllText(results, all.ToJsonString(LabJson.Options));

        string html = File.ReadAllText(index);
        var section = new Regex($"<section id=\"{Regex.Escape(name)}\" class=\"experiment\">.*?</section>\n", RegexOptions.Singleline);
        var contents = new Regex($"<li><a href=\"#{Regex.Escape(name)}\">[^<]*</a> — [^<]*</li>");
        string newSection = section.Match(freshHtml).Value;
        html = section.IsMatch(html) ? section.Replace(html, _ => newSection, 1)
            : html.Replace("<h2 id=\"manifest\">", newSection + "<h2 id=\"manifest\">", StringComparison.Ordinal);
        if (contents.Match(freshHtml) is { Success: true } line) html = contents.Replace(html, _ => line.Value, 1);
        int agree = experiments.Count(e => e.Value?["agrees"]?.GetValueKind() == System.Text.Json.JsonValueKind.True);
        html = new Regex("<strong>\\d+ of \\d+</strong>").Replace(html,
            string.Create(CultureInfo.InvariantCulture, $"<strong>{agree} of {experiments.Count}</strong>"), 1);
        AtomicFile.WriteAllText(index, html);
    }
}
