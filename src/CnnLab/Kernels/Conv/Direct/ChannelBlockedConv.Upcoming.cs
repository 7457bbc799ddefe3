namespace CnnLab.Kernels;

internal sealed unsafe partial class ChannelBlockedConv
{
    /// <summary>
    /// What the weight gradient's caller reads next, each region asked for a line per iteration of the loop before it: the next
    /// input X (C·H·W floats of a group) and up to two blocks of OCg·P floats its output gradient is made from
    /// (<see cref="ConvOutputGradient.Reads"/>). Null regions are skipped.
    /// </summary>
    internal readonly struct Upcoming(float* x, float* first, float* second, nint xStep = 0, nint blockStep = 0)
    {
        public readonly float* X = x, First = first, Second = second;
        public readonly nint XStep = xStep, BlockStep = blockStep;

        /// <summary>The same regions with the steps that cover them in <paramref name="iterations"/>.</summary>
        public Upcoming Spread(in Conv2dGeometry g, long iterations) => new(X, First, Second,
            CacheLines.StepOver((long)g.C * g.H * g.W, iterations), CacheLines.StepOver((long)g.OC * g.ColCols, iterations));

        /// <summary>Where the regions stand after <paramref name="iterations"/> more.</summary>
        public Upcoming After(long iterations) => new(Advance(X, XStep, iterations), Advance(First, BlockStep, iterations),
            Advance(Second, BlockStep, iterations), XStep, BlockStep);

        private static float* Advance(float* at, nint step, long iterations) => at == null ? null : at + step * iterations;
    }
}
