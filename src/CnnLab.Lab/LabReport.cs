using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace CnnLab.Lab;

/// <summary>
/// The lab's report: one self-contained HTML page (figures embedded as data URIs, no scripts, no
/// external links) with a table of contents, a section per notes topic, and the run manifest.
/// </summary>
public static class LabReport
{
    /// <summary>The page's head and style up to the opened body, shared by the lab's report and the sweep's.</summary>
    public static string PageHead(string title) => """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>
            """ + E(title) + """
            </title>
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <style>
            body{font-family:system-ui,-apple-system,"DejaVu Sans",sans-serif;max-width:1000px;
            """ + """
            margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
            h1{margin-bottom:.2em} h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em} h3{margin-top:1.6em}
            .claim{background:#f6f8fa;border-left:4px solid #888;padding:.5em .8em;margin:.6em 0}
            .verdict{padding:.6em .8em;border-radius:6px;margin:.6em 0}
            .agrees{background:#e9f7ef;border:1px solid #52b788} .disagrees{background:#fff4e5;
            """ + """
            border:1px solid #f4a261} .error{background:#fdecea;border:1px solid #e63946}
            .badge{font-weight:bold;margin-right:.4em}
            figure{margin:1em 0;text-align:center} figure img{max-width:100%;border:1px solid #eee} figcaption{font-size:.9em;color:#555}
            table{border-collapse:collapse;margin:.6em 0;font-size:.9em} td,th{border:1px solid #ddd;
            """ + """
            padding:.25em .6em;text-align:right} th{background:#f0f0f0} td:first-child,th:first-child{text-align:left}
            .toc li{margin:.15em 0} .meta{color:#666;font-size:.85em}
            </style></head><body>

            """;

    /// <summary>Each figure as an embedded PNG with its caption.</summary>
    public static void AppendFigures(StringBuilder sb, IEnumerable<Figure> figures)
    {
        foreach (var f in figures)
        {
            string data = File.Exists(f.Png) ? Convert.ToBase64String(File.ReadAllBytes(f.Png)) : "";
            sb.Append(CultureInfo.InvariantCulture, $"<figure><img alt=\"{E(f.Caption)}\" src=\"data:image/png;base64,{data}\">");
            sb.Append(CultureInfo.InvariantCulture, $"<figcaption>{E(f.Caption)}</figcaption></figure>\n");
        }
    }

    /// <summary>Each table with its caption and header row.</summary>
    public static void AppendTables(StringBuilder sb, IEnumerable<LabTable> tables)
    {
        foreach (var t in tables)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<table><caption>{E(t.Title)}</caption><tr>");
            foreach (var h in t.Headers) sb.Append(CultureInfo.InvariantCulture, $"<th>{E(h)}</th>");
            sb.Append("</tr>");
            foreach (var row in t.Rows)
            {
                sb.Append("<tr>");
                foreach (var c in row) sb.Append(CultureInfo.InvariantCulture, $"<td>{E(c)}</td>");
                sb.Append("</tr>");
            }
            sb.Append("</table>\n");
        }
    }

    public static string Html(IReadOnlyList<(Experiment Experiment, ExperimentResult? Result, string? Error)> results, JsonObject manifest)
    {
        var sb = new StringBuilder(PageHead("CnnLab report"));
        sb.Append("<h1>CnnLab report</h1>\n<p>Every claim of <em>Deep Learning – Complete Notes (Day 01)</em> put to a measurement. "
            + "Each verdict is computed from the numbers shown with it.</p>");
        int agree = results.Count(r => r.Result?.Agrees == true);
        sb.Append(CultureInfo.InvariantCulture, $"<p><strong>{agree} of {results.Count}</strong> measurements agree with the notes as written; ");
        sb.Append("the others show where the notes simplify.</p>\n");
        sb.Append("<h2 id=\"contents\">Contents</h2><ol class=\"toc\">");
        foreach (var topic in results.GroupBy(r => r.Experiment.Topic))
        {
            sb.Append(CultureInfo.InvariantCulture, $"<li><a href=\"#topic-{Slug(topic.Key)}\">{E(topic.Key)}</a><ol>");
            foreach (var (e, r, _) in topic)
                sb.Append(CultureInfo.InvariantCulture,
                    $"<li><a href=\"#{E(e.Name)}\">{E(e.Title)}</a> — {(r is null ? "failed" : r.Agrees ? "agrees" : "disagrees")}</li>");
            sb.Append("</ol></li>");
        }
        sb.Append("<li><a href=\"#manifest\">Run manifest</a></li></ol>\n");
        foreach (var topic in results.GroupBy(r => r.Experiment.Topic))
        {
            sb.Append(CultureInfo.InvariantCulture, $"<h2 id=\"topic-{Slug(topic.Key)}\">{E(topic.Key)}</h2>\n");
            foreach (var (e, r, error) in topic) Section(sb, e, r, error);
        }
        sb.Append("<h2 id=\"manifest\">Run manifest</h2><table>");
        foreach (var (k, v) in manifest) sb.Append(CultureInfo.InvariantCulture, $"<tr><td>{E(k)}</td><td>{E(v?.ToString() ?? "")}</td></tr>");
        sb.Append("</table></body></html>\n");
        return sb.ToString();
    }

    private static void Section(StringBuilder sb, Experiment e, ExperimentResult? r, string? error)
    {
        sb.Append(CultureInfo.InvariantCulture, $"<section id=\"{E(e.Name)}\" class=\"experiment\"><h3>{E(e.Title)} ");
        sb.Append(CultureInfo.InvariantCulture, $"<span class=\"meta\">(cnnlab experiment {E(e.Name)})</span></h3>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<div class=\"claim\"><strong>The notes:</strong> {E(e.Claim)}</div>\n");
        if (r is null)
        {
            sb.Append(CultureInfo.InvariantCulture,
                $"<div class=\"verdict error\"><span class=\"badge\">Failed</span>{E(error ?? "")}</div></section>\n");
            return;
        }
        sb.Append(CultureInfo.InvariantCulture, $"<div class=\"verdict {(r.Agrees ? "agrees" : "disagrees")}\">");
        sb.Append(CultureInfo.InvariantCulture, $"<span class=\"badge\">{(r.Agrees ? "Agrees" : "Disagrees")}</span>{E(r.Verdict)}</div>\n");
        AppendFigures(sb, r.Figures);
        AppendTables(sb, r.Tables);
        var scalars = r.Metrics.Where(kv => kv.Value is double or float or int or long or bool or string).ToList();
        if (scalars.Count > 0)
        {
            sb.Append("<table><caption>Key numbers (all numbers are in results.json)</caption>");
            foreach (var (k, v) in scalars) sb.Append(CultureInfo.InvariantCulture, $"<tr><td>{E(k)}</td><td>{E(Format(v))}</td></tr>");
            sb.Append("</table>\n");
        }
        sb.Append(CultureInfo.InvariantCulture, $"<p class=\"meta\">{r.Seconds:0.0} s</p></section>\n");
    }

    private static string Format(object? v) => v switch
    {
        double d => d.ToString("G5", CultureInfo.InvariantCulture),
        float f => f.ToString("G5", CultureInfo.InvariantCulture),
        _ => Convert.ToString(v, CultureInfo.InvariantCulture) ?? "",
    };

    /// <summary>HTML-escaped text.</summary>
    public static string E(string s) => WebUtility.HtmlEncode(s);

    private static string Slug(string s) => new(s.ToLowerInvariant().Select(c => char.IsLetterOrDigit(c) ? c : '-').ToArray());
}
