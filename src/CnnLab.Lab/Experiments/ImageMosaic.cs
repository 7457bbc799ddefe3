namespace CnnLab.Lab.Experiments;

/// <summary>
/// Tiles of one size laid out in rows and columns, each stretched to [0, 1] on its own (so a faint patch is as visible as
/// a bright one), separated by a mid-grey line: one grey-scale picture for <see cref="Viz.FeatureMaps.Image"/>.
/// </summary>
internal static class ImageMosaic
{
    /// <summary>[rows·(side + 1) − 1, cols·(side + 1) − 1] pixels; a null tile stays grey.</summary>
    public static float[,] Build(float[]?[,] tiles, int side)
    {
        int rows = tiles.GetLength(0), cols = tiles.GetLength(1);
        var m = new float[rows * (side + 1) - 1, cols * (side + 1) - 1];
        for (int y = 0; y < m.GetLength(0); y++) for (int x = 0; x < m.GetLength(1); x++) m[y, x] = 0.5f;
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
            {
                if (tiles[r, c] is not float[] t) continue;
                float lo = t.Min(), hi = t.Max();
                float scale = hi > lo ? 1 / (hi - lo) : 0;
                for (int y = 0; y < side; y++)
                    for (int x = 0; x < side; x++) m[r * (side + 1) + y, c * (side + 1) + x] = (t[y * side + x] - lo) * scale;
            }
        return m;
    }

    /// <summary>The <paramref name="side"/>² window at (<paramref name="top"/>, <paramref name="left"/>) of a row-major image.</summary>
    public static float[] Crop(ReadOnlySpan<float> image, int width, int top, int left, int side)
    {
        var t = new float[side * side];
        for (int y = 0; y < side; y++) image.Slice((top + y) * width + left, side).CopyTo(t.AsSpan(y * side, side));
        return t;
    }
}
