using CnnLab.Init;
using CnnLab.Kernels;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>The vectorized activations (ElementwiseLoop with the lane operators) against their scalar forms and references.</summary>
public class ElementwiseLoopTests
{
    private static readonly float[] Specials = [0f, -0f, 1e-30f, -1e-30f, 0.1249f, -0.1251f, 3f, -3f, 9.5f, -9.5f, 40f, -40f,
        float.PositiveInfinity, float.NegativeInfinity, float.NaN];

    // Random values (wide enough to reach every branch) with the special ones mixed in.
    private static float[] Values(int n, int seed)
    {
        var v = Tensor.Randn(new Generator(seed), Math.Max(n, 1)).ToArray()[..n];
        for (int i = 0; i < n; i++) v[i] = i % 7 == 3 ? Specials[i % Specials.Length] : v[i] * 4f;
        return v;
    }

    private static float[] Map<TOp>(TOp op, float[] x) where TOp : struct, IUnaryLanes
    {
        var y = new float[x.Length];
        ElementwiseLoop.Map(op, x, y);
        return y;
    }

    private static float[] Map<TOp>(TOp op, float[] a, float[] b, float[] c) where TOp : struct, ITernaryLanes
    {
        var d = new float[a.Length];
        ElementwiseLoop.Map(op, a, b, c, d);
        return d;
    }

    private static void AssertBits(float[] expected, float[] actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i])
                || (float.IsNaN(expected[i]) && float.IsNaN(actual[i])),
                $"{what}: element {i} is {actual[i]:G9}, expected {expected[i]:G9}");
    }

    [Fact]
    public void Exp_free_operators_give_their_scalar_forms_bits_at_every_length_and_in_the_tail()
    {
        for (int n = 0; n <= 70; n++)
        {
            float[] x = Values(n, n), y = Values(n, n + 100), dy = Values(n, n + 200);
            AssertBits(x.Select(new LeakyReluForward(0.1f).Invoke).ToArray(), Map(new LeakyReluForward(0.1f), x), $"leaky n={n}");
            AssertBits(x.Select((v, i) => new LeakyReluBackward(0.1f).Invoke(v, y[i], dy[i])).ToArray(), Map(new LeakyReluBackward(0.1f), x, y, dy),
                $"leaky' n={n}");
            AssertBits(x.Select((v, i) => new TanhNearZero().Invoke(v, y[i], 0f)).ToArray(), Map(new TanhNearZero(), x, y, y), $"tanh n={n}");
            AssertBits(x.Select((v, i) => new TanhBackward().Invoke(v, y[i], dy[i])).ToArray(), Map(new TanhBackward(), x, y, dy), $"tanh' n={n}");
            AssertBits(x.Select((v, i) => new SigmoidBackward().Invoke(v, y[i], dy[i])).ToArray(), Map(new SigmoidBackward(), x, y, dy),
                $"sigmoid' n={n}");
            AssertBits(x.Select((v, i) => new EluBackward(0.7f).Invoke(v, y[i], dy[i])).ToArray(), Map(new EluBackward(0.7f), x, y, dy),
                $"elu' n={n}");
        }
    }

    [Fact]
    public void An_element_gets_the_same_bits_in_a_whole_vector_as_in_the_tail()
    {
        var x = Values(37, 5);
        var whole = Map(new GeluForward(), x);
        for (int shift = 1; shift < 16; shift++)
        {
            var shifted = Map(new GeluForward(), x[shift..]);
            AssertBits(whole[shift..], shifted, $"gelu shifted by {shift}");
        }
    }

    [Fact]
    public void Gelu_and_erf_are_within_A_and_S_7_1_26s_error_of_the_exact_functions()
    {
        var x = Values(4000, 7);
        var y = Map(new GeluForward(), x);
        var dx = Map(new GeluBackward(), x, y, Enumerable.Repeat(1f, x.Length).ToArray());
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            if (!double.IsFinite(v))
            {
                Assert.Equal(v > 0 ? v : double.NaN, y[i]);  // +Inf → Inf; −Inf → −Inf·0 = NaN, as PyTorch's formula; NaN → NaN
                continue;
            }
            double cdf = NormalDistribution.Cdf(v), pdf = Math.Exp(-0.5 * v * v) / Math.Sqrt(2 * Math.PI);
            // erf's absolute error 1.5e-7 enters Φ halved, then times |x|; float rounding adds a few ulps.
            Assert.True(Math.Abs(y[i] - v * cdf) <= 1e-7 * Math.Abs(v) + 4e-7 * Math.Abs(v * cdf) + 1e-30,
                $"gelu({v:G9}) = {y[i]:G9}, exact {v * cdf:G9}");
            Assert.True(Math.Abs(dx[i] - (cdf + v * pdf)) <= 3e-7 + 3e-7 * Math.Abs(v), $"gelu'({v:G9}) = {dx[i]:G9}, exact {cdf + v * pdf:G9}");
        }
        Assert.Equal(0f, Erf.Of(0f));
        Assert.Equal(1f, Erf.Of(float.PositiveInfinity));
        Assert.Equal(-1f, Erf.Of(float.NegativeInfinity));
        Assert.True(float.IsNaN(Erf.Of(float.NaN)));
    }

    [Fact]
    public void Results_are_the_same_for_any_thread_count()
    {
        var x = Values(100_003, 9);
        float[] one;
        using (Parallelism.UseThreads(1))
            one = Map(new GeluForward(), x);
        using (Parallelism.UseThreads(2))
            AssertBits(one, Map(new GeluForward(), x), "gelu, 2 threads");
    }

    [Fact]
    public void Buffers_of_different_lengths_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => ElementwiseLoop.Map(new GeluForward(), new float[3], new float[4]));
        Assert.Throws<ArgumentException>(() => ElementwiseLoop.Map(new TanhBackward(), new float[3], new float[3], new float[2], new float[3]));
    }
}
