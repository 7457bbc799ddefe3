using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

/// <summary>
/// GELU(x) = x·Φ(x) = (x·½)·(1 + erf(x/√2)) (Hendrycks &amp; Gimpel 2016, arXiv:1606.08415), in PyTorch 1.13's
/// vectorized CPU form: its order of operations and its erf, Abramowitz &amp; Stegun 7.1.26 with FMAs
/// (absolute error below 1.5e-7), so that CnnLab gives the numbers PyTorch's own CPU kernel gives.
/// </summary>
/// <remarks>PyTorch: <c>GeluKernelImpl</c> (approximate='none') and <c>Vectorized&lt;float&gt;::erf</c>.</remarks>
internal readonly struct GeluForward : IUnaryLanes
{
    public float Invoke(float x) => x * 0.5f * (1f + Erf.Of(x * Erf.Sqrt1_2));

    public Vector512<float> Invoke(Vector512<float> x) => x * 0.5f * (Vector512<float>.One + Erf.Of(x * Erf.Sqrt1_2));
}

/// <summary>
/// Forward y = x·Φ(x), so dx = dy · (Φ(x) + x·φ(x)) with φ(x) = e^(−x²/2)/√(2π)
/// (PyTorch's <c>GeluBackwardKernelImpl</c>: cdf = ½(1 + erf(x/√2)), pdf = β·exp(−x²/2), β = 1/√(2π)).
/// </summary>
internal readonly struct GeluBackward : ITernaryLanes
{
    private const float Beta = 0.3989422804014327f;

    public float Invoke(float x, float y, float dy)
    {
        float cdf = 0.5f * (1f + Erf.Of(x * Erf.Sqrt1_2));
        float pdf = Beta * MathF.Exp(x * x * -0.5f);
        return dy * (cdf + x * pdf);
    }

    public Vector512<float> Invoke(Vector512<float> x, Vector512<float> y, Vector512<float> dy)
    {
        var cdf = (Vector512<float>.One + Erf.Of(x * Erf.Sqrt1_2)) * 0.5f;
        var pdf = VectorExp.Of(x * x * -0.5f) * Beta;
        return dy * (cdf + x * pdf);
    }
}

/// <summary>
/// erf(v) = sign(v)·(1 − t·r(t)·e^(−v²)), t = 1/(1 + p·|v|), r a quartic (Abramowitz &amp; Stegun 1964, 7.1.26).
/// </summary>
internal static class Erf
{
    public const float Sqrt1_2 = 0.70710678118654752f;
    private const float P = 0.3275911f, A1 = 0.254829592f, A2 = -0.284496736f, A3 = 1.421413741f, A4 = -1.453152027f, A5 = 1.061405429f;

    public static float Of(float v)
    {
        float t = 1f / MathF.FusedMultiplyAdd(P, MathF.Abs(v), 1f);
        float r = MathF.FusedMultiplyAdd(MathF.FusedMultiplyAdd(MathF.FusedMultiplyAdd(MathF.FusedMultiplyAdd(A5, t, A4), t, A3), t, A2), t, A1);
        float magnitude = MathF.FusedMultiplyAdd(-MathF.Exp(-(v * v)) * t, r, 1f);
        return BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(magnitude) ^ (BitConverter.SingleToInt32Bits(v) & int.MinValue));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Of(Vector512<float> v)
    {
        var t = Vector512<float>.One / Vector512.FusedMultiplyAdd(Vector512.Create(P), Vector512.Abs(v), Vector512<float>.One);
        var r = Vector512.FusedMultiplyAdd(Vector512.Create(A5), t, Vector512.Create(A4));
        r = Vector512.FusedMultiplyAdd(r, t, Vector512.Create(A3));
        r = Vector512.FusedMultiplyAdd(r, t, Vector512.Create(A2));
        r = Vector512.FusedMultiplyAdd(r, t, Vector512.Create(A1));
        var magnitude = Vector512.FusedMultiplyAdd(-VectorExp.Of(-(v * v)) * t, r, Vector512<float>.One);
        return magnitude ^ (v & Vector512.Create(-0f));
    }
}
