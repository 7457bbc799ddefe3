namespace CnnLab.Viz;

/// <summary>What a feature-map or filter grid showed, beside the files it was written to.</summary>
/// <param name="Png">Path of the PNG file.</param>
/// <param name="Svg">Path of the SVG file.</param>
/// <param name="Count">Maps (or filter slices) in the input.</param>
/// <param name="Shown">Maps drawn (at most the <c>maxMaps</c> asked for).</param>
/// <param name="DeadMaps">Indices of every map whose values are all exactly zero (a "dead" ReLU channel),
/// among all <see cref="Count"/> maps, shown or not; shown ones carry a red border and the word "dead".</param>
/// <param name="Min">Lower end of the shared colour scale.</param>
/// <param name="Max">Upper end of the shared colour scale.</param>
/// <remarks>PyTorch: none.</remarks>
public record FeatureMapFigure(string Png, string Svg, int Count, int Shown, int[] DeadMaps, double Min, double Max)
    : FigureFiles(Png, Svg);
