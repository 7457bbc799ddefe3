using CnnLab.Kernels;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// <see cref="WinogradBlock.OutputRows"/>, the rows that <see cref="WinogradBlock.MultiplyAndTransformOutput"/> asks for while its
/// products run: for a chunk of tile rows that starts and ends inside images, its spans are exactly the output rows the chunk's
/// tiles write for the block's channels, each once, clipped to the plane.
/// </summary>
public unsafe class WinogradOutputRowsTests
{
    [Theory]
    [InlineData(7, 7, 4, 1, 5, 2, 5)]    // 2 tile rows an image: image 0's last, image 1 whole, image 2's first; a clipped last row
    [InlineData(28, 28, 4, 0, 14, 0, 8)] // two whole images of 7 tile rows
    [InlineData(9, 5, 2, 3, 4, 1, 2)]    // one tile row inside image 0 (5 tile rows of 2), one channel
    public void Spans_are_the_rows_the_chunk_writes(int h, int w, int side, int r0, int rEnd, int oFirst, int oEnd)
    {
        int tileRows = (h + side - 1) / side, channels = 8;
        long plane = (long)h * w, imageStride = channels * plane;
        var expected = new SortedSet<long>();
        for (int o = oFirst; o < oEnd; o++)
            for (int r = r0; r < rEnd; r++)
            {
                int s = r / tileRows, tileRow = r % tileRows;
                for (int row = tileRow * side; row < Math.Min(h, (tileRow + 1) * side); row++)
                    for (int col = 0; col < w; col++) expected.Add(s * imageStride + o * plane + row * w + col);
            }
        var y = new float[(rEnd / tileRows + 1) * imageStride];
        var seen = new List<long>();
        fixed (float* py = y)
        {
            var rows = new WinogradBlock.OutputRows(py, imageStride, h, w, side, oFirst, oEnd, r0, rEnd, tileRows);
            for (int i = 0; i < rows.Spans; i++)
            {
                float* start = rows.Span(i, out long floats);
                for (long f = 0; f < floats; f++) seen.Add(start - py + f);
            }
        }
        Assert.Equal(expected.Count, seen.Count);   // each once
        Assert.Equal(expected, new SortedSet<long>(seen));
    }
}
