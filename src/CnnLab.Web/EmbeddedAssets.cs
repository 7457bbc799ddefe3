using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace CnnLab.Web;

/// <summary>
/// The pages, scripts and styles compiled into this assembly (wwwroot/, see the project file): served from memory, so the
/// server needs no folder of its own and no network (no CDN).
/// </summary>
internal static partial class EmbeddedAssets
{
    private static readonly Assembly Assembly = typeof(EmbeddedAssets).Assembly;

    [GeneratedRegex("^[a-z0-9-]+\\.(js|css|html|svg|txt)$")]
    private static partial Regex AssetName();

    public static void Map(WebApplication app)
    {
        app.MapGet("/", () => Serve("index.html"));
        app.MapGet("/static/{name}", (string name) => AssetName().IsMatch(name) ? Serve(name) : WebErrors.NotFound($"no asset '{name}'"));
    }

    /// <summary>The text of an embedded asset (null when there is none), for tests and the pages.</summary>
    public static byte[]? Read(string name)
    {
        using var stream = Assembly.GetManifestResourceStream("wwwroot/" + name);
        if (stream is null) return null;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static IResult Serve(string name)
    {
        var bytes = Read(name);
        if (bytes is null) return WebErrors.NotFound($"no asset '{name}'");
        string type = Path.GetExtension(name) switch
        {
            ".js" => "text/javascript; charset=utf-8",
            ".css" => "text/css; charset=utf-8",
            ".html" => "text/html; charset=utf-8",
            ".svg" => "image/svg+xml",
            _ => "text/plain; charset=utf-8",
        };
        return Results.Bytes(bytes, type);
    }
}
