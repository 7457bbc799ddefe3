using CnnLab.Viz;
using Xunit;

namespace CnnLab.Tests;

public class EmbeddedFontTests
{
    [Fact]
    public void FiguresUseTheEmbeddedTypefaceNotASystemFont()
    {
        // On a machine without fonts (a bare CI container) only the embedded face can render text.
        var embedded = EmbeddedFont.Ensure();
        Assert.Equal("DejaVu Sans", embedded.FamilyName);
        Assert.True(embedded.GlyphCount > 1000);
        Assert.Same(embedded, ScottPlot.Fonts.GetTypeface(EmbeddedFont.Name, bold: false, italic: false));
        Assert.Same(embedded, ScottPlot.Fonts.GetTypeface(EmbeddedFont.Name, bold: true, italic: false));
        // Greek letters and arrows used in labels (σ, μ, →) are in the face.
        using var font = new SkiaSharp.SKFont(embedded);
        Assert.True(font.ContainsGlyphs("σμ→"), "the embedded face lacks σ, μ or →");
    }
}
