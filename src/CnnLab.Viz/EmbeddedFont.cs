using ScottPlot;
using SkiaSharp;

namespace CnnLab.Viz;

/// <summary>
/// The typeface of every figure: DejaVu Sans, embedded in this assembly, so that text renders the
/// same on every machine, including CI containers without any system font.
/// </summary>
/// <remarks>
/// ScottPlot looks fonts up by name through <see cref="Fonts.FontResolvers"/>; this resolver answers
/// for <see cref="Name"/> only and is registered once per process, ahead of the system lookup.
/// Bold and italic requests get the regular face (one 750 KB file instead of four).
/// </remarks>
internal sealed class EmbeddedFont : IFontResolver
{
    /// <summary>The family name figures ask for (it is also what SVG text names as font-family).</summary>
    public const string Name = "DejaVu Sans";

    static readonly object Gate = new();
    static SKTypeface? typeface;

    /// <summary>Registers the resolver (idempotent, thread-safe) and returns the typeface.</summary>
    public static SKTypeface Ensure()
    {
        lock (Gate)
        {
            if (typeface is not null) return typeface;
            using var stream = typeof(EmbeddedFont).Assembly.GetManifestResourceStream("CnnLab.Viz.DejaVuSans.ttf")
                ?? throw new InvalidOperationException("CnnLab.Viz is missing its embedded font resource 'CnnLab.Viz.DejaVuSans.ttf'.");
            typeface = SKTypeface.FromStream(stream)
                ?? throw new InvalidOperationException("SkiaSharp could not read the embedded DejaVu Sans font.");
            Fonts.FontResolvers.Insert(0, new EmbeddedFont());
            Fonts.Default = Name;
            Fonts.Sans = Name;
            return typeface;
        }
    }

    public SKTypeface? CreateTypeface(string fontName, FontWeight weight, FontSlant slant, FontSpacing spacing) =>
        string.Equals(fontName, Name, StringComparison.OrdinalIgnoreCase) ? typeface : null;

    public SKTypeface? CreateTypeface(string fontName, bool bold, bool italic) =>
        string.Equals(fontName, Name, StringComparison.OrdinalIgnoreCase) ? typeface : null;
}
