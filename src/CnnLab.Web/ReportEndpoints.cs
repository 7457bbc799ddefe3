using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.StaticFiles;

namespace CnnLab.Web;

/// <summary>
/// The lab's report folder (<c>cnnlab lab --out DIR</c>) served under /report/ when it holds an index.html; looked for on each
/// request, so a report written while the server runs appears. A path is resolved inside the folder or refused.
/// </summary>
internal static class ReportEndpoints
{
    public static void Map(WebApplication app, ServeOptions options)
    {
        app.MapGet("/report", () => Results.Redirect("/report/index.html"));
        app.MapGet("/report/{**path}", (string? path) =>
        {
            if (options.ReportDirectory is null) return WebErrors.NotFound("no report folder: start cnnlab serve with --report DIR");
            string root = Path.GetFullPath(options.ReportDirectory);
            if (!File.Exists(Path.Combine(root, "index.html")))
            {
                string dir = options.ReportDirectory;
                return WebErrors.NotFound($"no lab report in '{dir}': write one with 'cnnlab lab --out {dir}'");
            }
            string full = Path.GetFullPath(Path.Combine(root, string.IsNullOrEmpty(path) ? "index.html" : path));
            if (!full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal) || !File.Exists(full))
                return WebErrors.NotFound($"the report has no file '{path}'");
            new FileExtensionContentTypeProvider().TryGetContentType(full, out var type);
            return Results.File(full, type ?? "application/octet-stream");
        });
    }

    /// <summary>True when <paramref name="options"/> name a report folder with an index.html.</summary>
    public static bool Present(ServeOptions options) =>
        options.ReportDirectory is not null && File.Exists(Path.Combine(options.ReportDirectory, "index.html"));
}
