using System.Runtime.Intrinsics;
using CnnLab.Kernels;
using Xunit;

namespace CnnLab.Tests;

/// <summary>The 16-lane eˣ and the tanh and sigmoid built on it, against double-precision references and at the edges.</summary>
public class VectorExpTests
{
    private static float[] Lanes(Func<Vector512<float>, Vector512<float>> f, float[] x)
    {
        var y = new float[x.Length];
        for (int i = 0; i < x.Length; i += 16)
        {
            var v = new float[16];
            Array.Copy(x, i, v, 0, Math.Min(16, x.Length - i));
            var r = f(Vector512.Create(v));
            for (int j = 0; j < 16 && i + j < x.Length; j++) y[i + j] = r[j];
        }
        return y;
    }

    // Every 997th float bit pattern between -104 and 89, so that every binade and every rounding case of n is met.
    private static float[] Sweep(float from, float to)
    {
        var list = new List<float>();
        for (float v = from; v < to; v = MathF.BitIncrement(v) + MathF.Abs(v) * 1.3e-4f) list.Add(v);
        return [.. list];
    }

    [Fact]
    public void Exp_is_within_two_ulps_of_the_exact_value_and_right_at_the_edges()
    {
        if (!System.Runtime.Intrinsics.X86.Avx512F.IsSupported) return;   // elsewhere VectorExp is .NET's Vector512.Exp
        var x = Sweep(-103.9f, 88.7f);
        var y = Lanes(VectorExp.Of, x);
        for (int i = 0; i < x.Length; i++)
        {
            double exact = Math.Exp(x[i]);
            if (exact < 1.2e-38) Assert.True(Math.Abs(y[i] - exact) <= 1.5e-45 * 2, $"exp({x[i]}) = {y[i]}, not {exact}");   // subnormals
            else Assert.True(Math.Abs(y[i] - exact) <= 2 * (MathF.BitIncrement((float)exact) - (float)exact), $"exp({x[i]}) = {y[i]}, not {exact}");
        }
        float[] edges = [0f, -0f, 89f, 1000f, float.PositiveInfinity, -105f, float.NegativeInfinity, float.NaN, 88.72f];
        var e = Lanes(VectorExp.Of, edges);
        Assert.Equal([1f, 1f, float.PositiveInfinity, float.PositiveInfinity, float.PositiveInfinity, 0f, 0f], e[..7]);
        Assert.True(float.IsNaN(e[7]));
        Assert.True(float.IsFinite(e[8]) && e[8] > 3.3e38f);
    }

    [Fact]
    public void Tanh_and_sigmoid_are_within_a_few_ulps_and_saturate()
    {
        if (!System.Runtime.Intrinsics.X86.Avx512F.IsSupported) return;   // their exp: as above
        var x = Sweep(-20f, 20f);
        var tanh = Lanes(v => new TanhForward().Invoke(v), x);
        var sigmoid = Lanes(v => new SigmoidForward().Invoke(v), x);
        for (int i = 0; i < x.Length; i++)
        {
            double t = Math.Tanh(x[i]), s = 1 / (1 + Math.Exp(-x[i]));
            Assert.True(Math.Abs(tanh[i] - t) <= 4e-7 * Math.Abs(t) + 1e-38, $"tanh({x[i]}) = {tanh[i]}, not {t}");
            Assert.True(Math.Abs(sigmoid[i] - s) <= 4e-7 * s + 1e-38, $"sigmoid({x[i]}) = {sigmoid[i]}, not {s}");
            float scalar = new TanhForward().Invoke(x[i]);   // the scalar form: the same formula with MathF.Exp
            Assert.True(Math.Abs(scalar - t) <= 4e-7 * Math.Abs(t) + 1e-38, $"scalar tanh({x[i]}) = {scalar}, not {t}");
        }
        float[] edges = [float.PositiveInfinity, float.NegativeInfinity, -0f, 0f, float.NaN, 100f, -100f];
        var te = Lanes(v => new TanhForward().Invoke(v), edges);
        var se = Lanes(v => new SigmoidForward().Invoke(v), edges);
        Assert.Equal([1f, -1f], te[..2]);
        Assert.True(BitConverter.SingleToInt32Bits(te[2]) == int.MinValue && te[3] == 0f && float.IsNaN(te[4]), "tanh(-0), tanh(0), tanh(NaN)");
        Assert.Equal([1f, -1f], te[5..7]);
        Assert.Equal([1f, 0f, 0.5f, 0.5f], se[..4]);
        Assert.True(float.IsNaN(se[4]));
        Assert.Equal([1f, 0f], se[5..7]);
    }
}
