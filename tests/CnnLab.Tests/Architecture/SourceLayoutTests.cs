using Xunit;

namespace CnnLab.Tests.Architecture;

/// <summary>
/// The house rules a reader's eye relies on, checked on the source tree: no line over 150 characters (.editorconfig's
/// max_line_length) and no file over 400 lines, outside generated code; C# and the web pages' scripts, styles and HTML alike.
/// </summary>
public class SourceLayoutTests
{
    private const int MaxLineLength = 150;
    private const int MaxFileLines = 400;

    private static readonly Lazy<string> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "CnnLab.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"no CnnLab.slnx above {AppContext.BaseDirectory}");
    });

    private static IEnumerable<string> SourceFiles() =>
        new[] { "src", "tests", "bench", "tools", "examples" }
            .Select(d => Path.Combine(Root.Value, d))
            .Where(Directory.Exists)
            .SelectMany(d => Directory.EnumerateFiles(d, "*", SearchOption.AllDirectories))
            .Where(f => Path.GetExtension(f) is ".cs" or ".js" or ".css" or ".html")
            .Where(f => !f.EndsWith(".g.cs", StringComparison.Ordinal))
            .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
            .Order();

    [Fact]
    public void TheSourceTreeIsFound()
    {
        Assert.True(SourceFiles().Count() > 100);
        Assert.Contains(SourceFiles(), f => f.EndsWith(Path.Combine("CnnLab.Web", "wwwroot", "app.js"), StringComparison.Ordinal));
    }

    [Fact]
    public void NoLineIsLongerThan150Characters()
    {
        var longLines = SourceFiles()
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (File: f, Number: i + 1, line.Length)))
            .Where(l => l.Length > MaxLineLength)
            .Select(l => $"{Path.GetRelativePath(Root.Value, l.File)}:{l.Number} has {l.Length} characters");
        Assert.Empty(longLines);
    }

    [Fact]
    public void NoFileIsLongerThan400Lines()
    {
        var longFiles = SourceFiles()
            .Select(f => (File: f, Lines: File.ReadLines(f).Count()))
            .Where(f => f.Lines > MaxFileLines)
            .Select(f => $"{Path.GetRelativePath(Root.Value, f.File)} has {f.Lines} lines");
        Assert.Empty(longFiles);
    }
}
