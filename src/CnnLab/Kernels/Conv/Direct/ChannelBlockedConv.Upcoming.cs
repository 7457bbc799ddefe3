namespace CnnLab.Kernels;

internal sealed unsafe partial class ChannelBlockedConv
{
    /// <summary>
    /// What the weight gradient's caller reads next, each region asked for a line per iteration of the loop before it: the next
    /// input X (Cg·H·W floats) and up to two blocks of OCg·P floats its output gradient is made from
    /// (<see cref="ConvOutputGradient.Reads"/>). Made from the regions' starts (null: none), its streams ask for nothing until
    /// <see cref="Spread"/>.
    /// </summary>
    internal readonly unsafe struct Upcoming
    {
        private readonly float* _x, _first, _second;
        public readonly PrefetchStream X, First, Second;

        public Upcoming(float* x, float* first, float* second)
        {
            _x = x;
            _first = first;
            _second = second;
        }

        private Upcoming(PrefetchStream x, PrefetchStream first, PrefetchStream second) => (X, First, Second) = (x, first, second);

        /// <summary>
        /// The regions of a group of <paramref name="g"/>, each over <paramref name="iterations"/> asks; with
        /// <paramref name="images"/> &gt; 1 (one group), those of as many images, which follow each other.
        /// </summary>
        public Upcoming Spread(in Conv2dGeometry g, long iterations, int images = 1) => new(
            PrefetchStream.Over(_x, (long)images * g.Cg * g.H * g.W, iterations),
            PrefetchStream.Over(_first, (long)images * g.OCg * g.ColCols, iterations),
            PrefetchStream.Over(_second, (long)images * g.OCg * g.ColCols, iterations));

        /// <summary>
        /// The regions of a group of <paramref name="g"/>, each a line per ask, for a loop that asks for several lines at a time
        /// (<see cref="AskLines"/>): <paramref name="lines"/> of them in all.
        /// </summary>
        public Upcoming ByLines(in Conv2dGeometry g, out long lines)
        {
            long inputs = (long)g.Cg * g.H * g.W, outputs = (long)g.OCg * g.ColCols;
            lines = (_x == null ? 0 : LinesOf(inputs)) + (_first == null ? 0 : LinesOf(outputs)) + (_second == null ? 0 : LinesOf(outputs));
            return new(LineByLine(_x, inputs), LineByLine(_first, outputs), LineByLine(_second, outputs));
        }

        private static PrefetchStream LineByLine(float* region, long floats) =>
            region == null ? default : new(region, region + floats, CacheLines.LineFloats);

        private static long LinesOf(long floats) => (floats + CacheLines.LineFloats - 1) / CacheLines.LineFloats;

        /// <summary>Asks for the next <paramref name="lines"/> lines of the streams (X's first, then First's, then Second's).</summary>
        public Upcoming AskLines(int lines)
        {
            var x = AskShare(X, ref lines);
            var first = AskShare(First, ref lines);
            return new(x, first, AskShare(Second, ref lines));
        }

        // As many of `lines` as `stream` has left; `lines` keeps the rest for the next stream.
        private static PrefetchStream AskShare(PrefetchStream stream, ref int lines)
        {
            int asks = (int)Math.Min(lines, stream.AsksLeft);
            lines -= asks;
            return stream.AskLines(asks);
        }

        /// <summary>Where the streams stand after <paramref name="asks"/> more (none past their ends).</summary>
        public Upcoming After(long asks) => new(X.After(asks), First.After(asks), Second.After(asks));
    }
}
