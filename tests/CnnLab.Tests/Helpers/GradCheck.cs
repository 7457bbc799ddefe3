using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// Central finite-difference gradient check. The output is projected onto fixed random weights R
/// (L = Σ R ⊙ f(x)), so one scalar checks every output element's contribution. Forward passes run
/// in float32, so the step h balances truncation error O(h²·f''') against rounding error
/// O(ε·|L|/h) with ε ≈ 6e-8: h = 1e-2 on inputs of order 1 gives errors near 1e-4 relative, and the
/// comparison uses |analytic − numeric| ≤ atol + rtol·|numeric| with rtol = 1e-2, atol = 1e-3
/// (scaled by the largest gradient), tight enough to catch any wrong term (wrong terms are O(1) off).
/// </summary>
public static class GradCheck
{
    public static void Check(Func<Tensor[], Tensor> f, Tensor[] inputs, double h = 1e-2, double rtol = 1e-2,
        double atol = 1e-3, int maxElementsPerInput = 64, long seed = 1234, string what = "op")
    {
        foreach (var x in inputs) x.RequiresGrad = true;
        var y0 = f(inputs);
        var gen = new Generator(seed);
        var r = Tensor.Randn(gen, y0.Shape);
        foreach (var x in inputs) x.Grad = null;
        var loss = CnnLab.Nn.Functional.Sum(CnnLab.Nn.Functional.Mul(y0, r));
        loss.Backward();

        double Eval()
        {
            using var _ = Autograd.NoGrad();
            var y = f(inputs);
            double s = 0;
            for (int i = 0; i < y.Numel; i++) s += (double)y.Storage[i] * r.Storage[i];
            return s;
        }

        for (int k = 0; k < inputs.Length; k++)
        {
            var x = inputs[k];
            Assert.True(x.Grad is not null, $"{what}: input {k} got no gradient");
            var analytic = x.Grad!.ToArray();
            double scale = analytic.Length == 0 ? 1 : Math.Max(1, analytic.Max(v => Math.Abs((double)v)));
            var pick = new Generator(seed + k);
            int count = Math.Min(x.Numel, maxElementsPerInput);
            var indices = x.Numel <= maxElementsPerInput
                ? Enumerable.Range(0, x.Numel)
                : Enumerable.Range(0, count).Select(_ => pick.NextInt(x.Numel));
            foreach (int i in indices)
            {
                float orig = x.Storage[i];
                x.Storage[i] = (float)(orig + h);
                double plus = Eval();
                x.Storage[i] = (float)(orig - h);
                double minus = Eval();
                x.Storage[i] = orig;
                double numeric = (plus - minus) / (2 * h);
                double err = Math.Abs(analytic[i] - numeric);
                Assert.True(err <= atol * scale + rtol * Math.Abs(numeric),
                    $"{what}: input {k} element {i}: analytic {analytic[i]:G6} vs numeric {numeric:G6} (|diff| {err:G3})");
            }
        }
    }
}
