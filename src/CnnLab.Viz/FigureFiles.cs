namespace CnnLab.Viz;

/// <summary>The two files one figure was written to: a PNG raster and a self-contained SVG.</summary>
/// <param name="Png">Path of the PNG file (<c>pathWithoutExtension + ".png"</c>).</param>
/// <param name="Svg">Path of the SVG file (<c>pathWithoutExtension + ".svg"</c>).</param>
/// <remarks>PyTorch: none (matplotlib's <c>savefig</c> plays this role in Python).</remarks>
public record FigureFiles(string Png, string Svg);
