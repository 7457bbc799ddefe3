using CnnLab.Nn;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

public class ElementwiseFixtureTests
{
    private const string Script = "tools/reference/make_fixtures.py";

    private static Tensor Apply(string op, Tensor[] x) => op switch
    {
        "add_bias" => x[0] + x[1],
        "sub_col" => x[0] - x[1],
        "mul_outer" => x[0] * x[1],
        "div_scalar_like" or "div_same" => x[0] / x[1],
        "sum_all" => x[0].Sum().Reshape(1),
        "mean_all" => x[0].Mean().Reshape(1),
        "sum_axis1" => x[0].Sum(1),
        "mean_last_keep" => x[0].Mean(-1, keepDim: true),
        "matmul" => x[0].Matmul(x[1]),
        "transpose" => Functional.Transpose(x[0]),
        "exp" => Functional.Exp(x[0]),
        "log" => Functional.Log(x[0]),
        "pow3" => x[0].Pow(3),
        "mul_scalar" => x[0] * -2.5f,
        _ => throw new ArgumentException(op),
    };

    public static TheoryData<string> Ops()
    {
        var data = new TheoryData<string>();
        foreach (var n in Fixtures.Names("elementwise")) data.Add(n);
        return data;
    }

    // Tolerance 1e-5 relative + 1e-6 absolute: one rounding per element, or a short float32 sum
    // (matmul, K = 5; reductions over ≤ 15 values) whose order differs from PyTorch's.
    [Theory]
    [MemberData(nameof(Ops))]
    public void ForwardAndInputGradientsMatchPyTorch(string op)
    {
        var c = Fixtures.Load("elementwise", op);
        int n = Fixtures.Config(c).GetProperty("inputs").GetInt32();
        var x = Enumerable.Range(0, n).Select(i => c.Tensors[$"x{i}"].RequiresGrad_()).ToArray();
        var y = Apply(op, x);
        Fixtures.AssertClose(c.Tensors["y"], y, 1e-5, 1e-6, op + " forward", Script);
        (y * c.Tensors["dy"]).Sum().Backward();
        for (int i = 0; i < n; i++)
            Fixtures.AssertClose(c.Tensors[$"dx{i}"], x[i].Grad!, 1e-5, 1e-6, $"{op} dx{i}", Script);
    }

    [Fact]
    public void EveryFixtureIsCovered() => Assert.Equal(15, Ops().Count);
}
