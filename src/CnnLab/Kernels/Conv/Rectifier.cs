using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

/// <summary>
/// What a convolution does to each output as it stores it, after the bias: nothing, ReLU max(v, 0), or a leaky ReLU
/// v &gt; 0 ? v : v·slope (Maas et al. 2013). The leaky form is <see cref="LeakyReluForward"/>'s lanes, so a layer's output
/// stored this way has the bits of the layer run after the convolution, without the pass over the output that the layer
/// takes. A bool converts to it (true: ReLU), so the kernels that only know ReLU take it unchanged.
/// </summary>
/// <remarks>PyTorch: <c>F.relu</c> and <c>F.leaky_relu</c>; oneDNN applies them as eltwise post-ops of its convolution.</remarks>
internal readonly struct Rectifier
{
    private readonly float _slope;
    private readonly byte _kind;    // 0: none, 1: ReLU, 2: leaky ReLU

    private Rectifier(byte kind, float slope) => (_kind, _slope) = (kind, slope);

    /// <summary>ReLU, max(v, 0).</summary>
    public static Rectifier Relu => new(1, 0f);

    /// <summary>The leaky ReLU of <paramref name="slope"/>: v &gt; 0 ? v : v·slope.</summary>
    public static Rectifier Leaky(float slope) => new(2, slope);

    /// <summary>true: ReLU; false: nothing.</summary>
    public static implicit operator Rectifier(bool relu) => relu ? Relu : default;

    /// <summary>Whether it does nothing.</summary>
    public bool IsNone => _kind == 0;

    /// <summary>Whether it is ReLU (not the leaky form).</summary>
    public bool IsRelu => _kind == 1;

    /// <summary>Whether it is the leaky form.</summary>
    public bool IsLeaky => _kind == 2;

    /// <summary>The 16 outputs rectified.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Apply(Vector512<float> v) => _kind switch
    {
        0 => v,
        1 => Vector512.Max(v, Vector512<float>.Zero),
        _ => new LeakyReluForward(_slope).Invoke(v),
    };

    public override string ToString() => _kind switch { 0 => "none", 1 => "ReLU", _ => $"leaky ReLU ({_slope})" };
}
