namespace CnnLab.Kernels;

// Legend as in BatchNormKernel.cs: z the batch norm's input [N, C, S], μ its batch mean, du the gradient of its output
// (before its ReLU: masked).

/// <summary>
/// A training batch norm's gradient sums, Σ du and Σ du·(z − μ) per image and channel, taken by the convolution that writes
/// du (its dx: the batch norm → ReLU's output is that convolution's input) while each image of it is in cache, so that the
/// batch norm's backward does not read du and z again in a pass of its own before it rebuilds dz. Each plane's pair is
/// <see cref="BatchNormPlanes.GradientSums"/>'s, and <see cref="ChannelSums"/> adds them in double in image order, as
/// <see cref="BatchNormKernel.GradientSumsFrom"/> does: the same bits.
/// </summary>
internal sealed class BatchNormGradientSums
{
    private readonly float[] _z, _sums, _means;
    private readonly int _images, _channels, _planeSize;
    private readonly object _zOwner;

    /// <summary>
    /// Sums for the batch norm of input <paramref name="z"/> ([images, channels, planeSize]), whose owner (the tensor whose
    /// buffer it is) the sums keep alive, so that the buffer is not handed out again while they may read it.
    /// </summary>
    public BatchNormGradientSums(float[] z, object zOwner, ReadOnlySpan<double> mean, int images, int channels, int planeSize)
    {
        _zOwner = zOwner;
        if (z.Length < (long)images * channels * planeSize || mean.Length < channels)
            throw new ArgumentException($"z needs {(long)images * channels * planeSize} floats and mean {channels}");
        (_z, _images, _channels, _planeSize) = (z, images, channels, planeSize);
        _means = new float[channels];
        for (int c = 0; c < channels; c++) _means[c] = (float)mean[c];
        _sums = new float[2 * images * channels];
    }

    /// <summary>The gradient the sums were taken from (set by the op that took them; compared by reference), or null.</summary>
    public object? TakenFrom { get; set; }

    /// <summary>Throws unless du's images are those of the input of <paramref name="g"/> (C·H·W floats, the sums' C·S).</summary>
    public void CheckInputOf(in Conv2dGeometry g)
    {
        long image = (long)_channels * _planeSize, input = (long)g.C * g.H * g.W;
        if (image != input) throw new ArgumentException($"batch norm sums of {image} floats an image for an input of {input}");
    }

    /// <summary>The sums of image <paramref name="n"/>, whose du (C·S floats) is at <paramref name="du"/>.</summary>
    public unsafe void AddImage(int n, float* du)
    {
        if ((uint)n >= (uint)_images) throw new ArgumentOutOfRangeException(nameof(n));
        fixed (float* z = _z)
            for (int c = 0; c < _channels; c++)
            {
                long plane = (long)n * _channels + c;
                var (sumG, sumGDeviation) = BatchNormPlanes.GradientSums(new ReadOnlySpan<float>(du + (long)c * _planeSize, _planeSize),
                    new ReadOnlySpan<float>(z + plane * _planeSize, _planeSize), _means[c]);
                _sums[2 * plane] = sumG;
                _sums[2 * plane + 1] = sumGDeviation;
            }
    }

    /// <summary>Per channel Σ du and Σ du·x̂ (x̂ = (z − μ)·invStd) from the images' sums.</summary>
    public void ChannelSums(ReadOnlySpan<double> invStd, Span<double> sumDy, Span<double> sumDyXhat)
    {
        for (int c = 0; c < _channels; c++)
        {
            double a = 0, b = 0;
            for (int n = 0; n < _images; n++)
            {
                long plane = (long)n * _channels + c;
                a += _sums[2 * plane];
                b += _sums[2 * plane + 1];
            }
            sumDy[c] = a;
            sumDyXhat[c] = b * invStd[c];
        }
    }
}
