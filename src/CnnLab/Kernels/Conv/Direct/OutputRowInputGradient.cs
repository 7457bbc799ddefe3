using System.Buffers;

namespace CnnLab.Kernels;

/// <summary>
/// The input gradient of a stride-1 convolution as a forward one, run by <see cref="OutputRowConv"/>:
/// dx[c, y, x] = Σ_{o, u, v} w[o, c, u, v] · dy[o, y + PH − u·DH, x + PW − v·DW] is the convolution of dy padded by
/// (DH·(KH − 1) − PH, DW·(KW − 1) − PW) with the weights turned round, w′[c, o, u, v] = w[o, c, KH − 1 − u, KW − 1 − v],
/// group by group, at the same dilation; its output is H x W again. Each dx is one sum over (o, u, v) in the turned kernel's
/// order (u and v backwards through w), added to dx or written over it: within rounding of <see cref="Conv2dReference"/>,
/// the same bits for any thread count.
/// </summary>
/// <remarks>PyTorch: <c>torch.nn.grad.conv2d_input</c>, which is this transposed convolution.</remarks>
internal sealed unsafe class OutputRowInputGradient : IDisposable
{
    private readonly OutputRowConv? _conv;
    private readonly float[] _packed = [];
    private readonly StrideTwoRowInputGradient? _strided;

    /// <summary>
    /// Stride 1 with padding of at most the dilated kernel's reach (else dy's padding would be negative), or stride 2 in x
    /// (<see cref="StrideTwoRowInputGradient"/>); AVX-512.
    /// </summary>
    public static bool Supports(in Conv2dGeometry g) =>
        g.SH == 1 && g.SW == 1 && OutputRowConv.Supports(g) && g.PH <= g.DH * (g.KH - 1) && g.PW <= g.DW * (g.KW - 1)
        || StrideTwoRowInputGradient.Supports(g);

    /// <summary>The forward convolution that computes dx of <paramref name="g"/>: dy's planes in, x's out.</summary>
    public static Conv2dGeometry Transposed(in Conv2dGeometry g) =>
        new(g.N, g.OC, g.OH, g.OW, g.C, g.KH, g.KW, 1, 1, g.DH * (g.KH - 1) - g.PH, g.DW * (g.KW - 1) - g.PW, g.DH, g.DW, g.G);

    public OutputRowInputGradient(in Conv2dGeometry g, ReadOnlySpan<float> w)
    {
        if (!Supports(g)) throw new ArgumentException($"the output-row input gradient does not take {g}");
        if (StrideTwoRowInputGradient.Supports(g))
        {
            _strided = new StrideTwoRowInputGradient(g, w);
            return;
        }
        _conv = new OutputRowConv(Transposed(g));
        int taps = g.KH * g.KW, length = g.OC * g.ColRows;
        var turned = ArrayPool<float>.Shared.Rent(length);
        for (int grp = 0; grp < g.G; grp++)
            for (int c = 0; c < g.Cg; c++)
                for (int o = 0; o < g.OCg; o++)
                    for (int t = 0; t < taps; t++)
                        turned[(((long)grp * g.Cg + c) * g.OCg + o) * taps + t] = w[((grp * g.OCg + o) * g.Cg + c) * taps + taps - 1 - t];
        _packed = ArrayPool<float>.Shared.Rent(_conv.PackedLength);
        _conv.PackWeights(turned.AsSpan(0, length), _packed);
        ArrayPool<float>.Shared.Return(turned);
    }

    /// <summary>Floats of the zero-bordered scratch each thread needs (zero it once: only its inside is written).</summary>
    public int PaddedLength => _strided?.PaddedLength ?? _conv!.PaddedLength;

    /// <summary>
    /// dx_g [Cg, H, W] (+)= the input gradient of group <paramref name="grp"/> from its dy_g [OCg, OH, OW]; <paramref name="nextDx"/>
    /// as <see cref="StrideTwoRowInputGradient.Group"/>'s.
    /// </summary>
    public void Group(int grp, float* dy, float* dx, bool accumulate, float* padded, float* nextDx = null)
    {
        if (_strided is not null)
        {
            _strided.Group(grp, dy, dx, accumulate, padded, nextDx);
            return;
        }
        fixed (float* packed = _packed) _conv!.ForwardGroup(grp, dy, packed, null, false, dx, padded, accumulate);
    }

    /// <summary>Returns the packed weights to the pool (<see cref="ConvBackwardPass"/> calls it once, after every chunk has run).</summary>
    public void Dispose()
    {
        if (_conv is not null) ArrayPool<float>.Shared.Return(_packed);
    }
}
