using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

/// <summary>
/// tanh x = sign(x)·(1 − e)/(1 + e) with e = e^(−2|x|) ≤ 1 (never overflows; |x| = ∞ gives ±1), and below |x| = 1/8,
/// where 1 − e cancels, the odd series of <see cref="TanhNearZero"/>. e by <see cref="VectorExp"/>: a few ulps of the exact
/// value, as PyTorch's vectorized tanh is.
/// </summary>
internal readonly struct TanhForward : IUnaryLanes
{
    public float Invoke(float x)
    {
        float e = MathF.Exp(-2f * MathF.Abs(x));
        return new TanhNearZero().Invoke(x, MathF.CopySign((1f - e) / (1f + e), x), 0f);
    }

    public Vector512<float> Invoke(Vector512<float> x)
    {
        var e = VectorExp.Of(Vector512.Abs(x) * -2f);
        var magnitude = (Vector512<float>.One - e) / (Vector512<float>.One + e);
        return new TanhNearZero().Invoke(x, magnitude | (x & Vector512.Create(-0f)), default);
    }
}

/// <summary>σ(x) = 1/(1 + e^(−x)): 0 at −∞ (e^(−x) = ∞), 1 at ∞; e by <see cref="VectorExp"/>.</summary>
/// <remarks>PyTorch: <c>torch.sigmoid</c>'s CPU kernel computes the same expression.</remarks>
internal readonly struct SigmoidForward : IUnaryLanes
{
    public float Invoke(float x) => 1f / (1f + MathF.Exp(-x));

    public Vector512<float> Invoke(Vector512<float> x) => Vector512<float>.One / (Vector512<float>.One + VectorExp.Of(-x));
}
