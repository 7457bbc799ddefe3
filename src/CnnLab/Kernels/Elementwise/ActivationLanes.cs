using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

// The activations' forward and backward formulas as lane operators for ElementwiseLoop: the scalar and the
// 16-lane form of each compute the same expression in the same order (the exp-based ones differ by the exp's ulp).
// Backward operators take (x, y, dy) and return dx.

/// <summary>LeakyReLU y = x &gt; 0 ? x : s·x (NaN stays NaN: the compare is false and s·NaN is NaN).</summary>
internal readonly struct LeakyReluForward(float slope) : IUnaryLanes
{
    public float Invoke(float x) => x > 0f ? x : x * slope;

    public Vector512<float> Invoke(Vector512<float> x) =>
        Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), x, x * slope);
}

/// <summary>Forward y = x &gt; 0 ? x : s·x, so dx = dy · (x &gt; 0 ? 1 : s).</summary>
internal readonly struct LeakyReluBackward(float slope) : ITernaryLanes
{
    public float Invoke(float x, float y, float dy) => x > 0f ? dy : dy * slope;

    public Vector512<float> Invoke(Vector512<float> x, Vector512<float> y, Vector512<float> dy) =>
        Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), dy, dy * slope);
}

/// <summary>ELU y = x &gt; 0 ? x : α(eˣ − 1).</summary>
internal readonly struct EluForward(float alpha) : IUnaryLanes
{
    public float Invoke(float x) => x > 0f ? x : alpha * (MathF.Exp(x) - 1f);

    public Vector512<float> Invoke(Vector512<float> x) =>
        Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), x, (VectorExp.Of(x) - Vector512<float>.One) * alpha);
}

/// <summary>Forward y = x &gt; 0 ? x : α(eˣ − 1), so dx = dy · (x &gt; 0 ? 1 : y + α).</summary>
internal readonly struct EluBackward(float alpha) : ITernaryLanes
{
    public float Invoke(float x, float y, float dy) => x > 0f ? dy : dy * (y + alpha);

    public Vector512<float> Invoke(Vector512<float> x, Vector512<float> y, Vector512<float> dy) =>
        Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), dy, dy * (y + Vector512.Create(alpha)));
}

/// <summary>Forward y = tanh x, so dx = dy · (1 − y²).</summary>
internal readonly struct TanhBackward : ITernaryLanes
{
    public float Invoke(float x, float y, float dy) => dy * (1f - y * y);

    public Vector512<float> Invoke(Vector512<float> x, Vector512<float> y, Vector512<float> dy) => dy * (Vector512<float>.One - y * y);
}

/// <summary>
/// tanh x near 0 from its odd series x − x³/3 + 2x⁵/15 − 17x⁷/315 (|x| &lt; 1/8, next term below 1.4e-9 relative),
/// where the vectorized (e²ˣ − 1)/(e²ˣ + 1) cancels (tanh(0) comes out −6e-8); elsewhere y as computed: (x, y, ·) → y.
/// </summary>
internal readonly struct TanhNearZero : ITernaryLanes
{
    public float Invoke(float x, float y, float unused)
    {
        if (!(MathF.Abs(x) < 0.125f)) return y;
        float x2 = x * x;
        return x * (1f - x2 * (1f / 3f - x2 * (2f / 15f - x2 * (17f / 315f))));
    }

    public Vector512<float> Invoke(Vector512<float> x, Vector512<float> y, Vector512<float> unused)
    {
        var x2 = x * x;
        var series = x * (Vector512<float>.One - x2 * (Vector512.Create(1f / 3f) - x2 * (Vector512.Create(2f / 15f) - x2 * (17f / 315f))));
        return Vector512.ConditionalSelect(Vector512.LessThan(Vector512.Abs(x), Vector512.Create(0.125f)), series, y);
    }
}

/// <summary>Forward y = σ(x), so dx = dy · y · (1 − y).</summary>
internal readonly struct SigmoidBackward : ITernaryLanes
{
    public float Invoke(float x, float y, float dy) => dy * y * (1f - y);

    public Vector512<float> Invoke(Vector512<float> x, Vector512<float> y, Vector512<float> dy) => dy * y * (Vector512<float>.One - y);
}

/// <summary>y = max(0, a + b), the residual add and its ReLU in one pass (the third input is unused).</summary>
internal readonly struct AddReluForward : ITernaryLanes
{
    public float Invoke(float a, float b, float c)
    {
        float sum = a + b;
        return sum > 0f ? sum : float.IsNaN(sum) ? sum : 0f;
    }

    public Vector512<float> Invoke(Vector512<float> a, Vector512<float> b, Vector512<float> c)
    {
        var sum = a + b;
        // max(0, NaN) is NaN, as torch.relu: keep the lanes that are not less or equal to zero.
        return Vector512.ConditionalSelect(Vector512.LessThanOrEqual(sum, Vector512<float>.Zero), Vector512<float>.Zero, sum);
    }
}
