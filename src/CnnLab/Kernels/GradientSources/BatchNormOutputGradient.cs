namespace CnnLab.Kernels;

// Legend as in Conv2dKernel.cs (the convolution) and BatchNormKernel.cs (z = the convolution's output,
// batch norm's input, [N, OC, P]).

/// <summary>
/// z = conv(x) followed by batch norm (batch statistics), whose output gradient comes plane by plane from
/// <paramref name="dy"/>: dL/dz = a·dy + b·(z − μ) + c per channel (<paramref name="coefficients"/>: μ, a, b, c
/// per channel from <see cref="BatchNormKernel.PlaneCoefficients"/>, from the gradient sums over the batch), made
/// one image block at a time for the convolution's backward while it is in cache. The unfused ops write
/// dL/dz for the whole batch to memory and the convolution's backward reads it back (12.8 MB each way for
/// cnn-bn's first layer at batch 128). Same per-plane formula as <see cref="BatchNormKernel.BackwardFrom"/>,
/// so the same bits.
/// </summary>
internal sealed unsafe class BatchNormOutputGradient(Conv2dGeometry g, PlaneGradient dy, float* z, float[] coefficients)
    : ConvOutputGradient(g)
{
    public override ReadOnlySpan<float> ForImage(int n, int group, Span<float> scratch)
    {
        int p = Geometry.ColCols;
        for (int o = 0; o < Geometry.OCg; o++)
        {
            int ch = group * Geometry.OCg + o;
            long plane = (long)n * Geometry.OC + ch;
            var dst = scratch.Slice(o * p, p);
            // dy's plane may be rebuilt into dst itself: the formula reads each element before writing it.
            var dyPlane = dy.Plane(plane, dst);
            BatchNormPlanes.InputGradient(dyPlane, new ReadOnlySpan<float>(z + plane * p, p), coefficients[4 * ch], coefficients[4 * ch + 1],
                coefficients[4 * ch + 2], coefficients[4 * ch + 3], dst);
        }
        return scratch;
    }
}
