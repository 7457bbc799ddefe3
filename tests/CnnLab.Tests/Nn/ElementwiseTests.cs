using CnnLab.Nn;
using CnnLab.Tensors;

using Xunit;

namespace CnnLab.Tests;

public class ElementwiseTests
{
    private static Tensor R(int seed, params int[] shape) => Tensor.Randn(new Generator(seed), shape);

    // b values away from 0 so that division stays well conditioned
    private static Tensor Pos(int seed, params int[] shape) => Functional.AddScalar(Tensor.Rand(new Generator(seed), shape), 1f).Detach();

    public static TheoryData<int[], int[]> BroadcastPairs() => new()
    {
        { [3, 4], [3, 4] },
        { [2, 3, 4], [4] },
        { [2, 3, 4], [3, 1] },
        { [5, 1], [1, 6] },
        { [2, 3], [] },
        { [1], [2, 3] },
    };

    [Theory]
    [MemberData(nameof(BroadcastPairs))]
    public void BinaryOpsGradCheck(int[] sa, int[] sb)
    {
        GradCheck.Check(x => Functional.Add(x[0], x[1]), [R(1, sa), R(2, sb)], what: "add");
        GradCheck.Check(x => Functional.Sub(x[0], x[1]), [R(3, sa), R(4, sb)], what: "sub");
        GradCheck.Check(x => Functional.Mul(x[0], x[1]), [R(5, sa), R(6, sb)], what: "mul");
        GradCheck.Check(x => Functional.Div(x[0], x[1]), [R(7, sa), Pos(8, sb)], what: "div");
    }

    [Fact]
    public void BroadcastValuesByHand()
    {
        var a = Tensor.FromArray([1, 2, 3, 4, 5, 6], 2, 3);
        var b = Tensor.FromArray([10, 20, 30]);
        Assert.Equal([11f, 22f, 33f, 14f, 25f, 36f], (a + b).ToArray());
        var col = Tensor.FromArray([1, 2], 2, 1);
        Assert.Equal([1f, 2f, 3f, 8f, 10f, 12f], (a * col).ToArray());
    }

    [Fact]
    public void UnaryAndReductionGradCheck()
    {
        GradCheck.Check(x => Functional.Exp(x[0]), [R(1, 3, 4)], what: "exp");
        GradCheck.Check(x => Functional.Log(x[0]), [Pos(2, 3, 4)], what: "log");
        GradCheck.Check(x => Functional.Pow(x[0], 3), [R(3, 5)], what: "pow");
        GradCheck.Check(x => Functional.Sum(x[0]), [R(4, 2, 3)], what: "sum");
        GradCheck.Check(x => Functional.Mean(x[0]), [R(5, 2, 3)], what: "mean");
        GradCheck.Check(x => Functional.Sum(x[0], 1), [R(6, 2, 3, 4)], what: "sum(axis)");
        GradCheck.Check(x => Functional.Mean(x[0], -1, keepDim: true), [R(7, 2, 3, 4)], what: "mean(axis)");
        GradCheck.Check(x => Functional.MulScalar(x[0], -2.5f), [R(8, 7)], what: "mul scalar");
    }

    [Fact]
    public void MatmulAndViewsGradCheck()
    {
        GradCheck.Check(x => Functional.Matmul(x[0], x[1]), [R(1, 3, 5), R(2, 5, 4)], what: "matmul");
        GradCheck.Check(x => Functional.Transpose(x[0]), [R(3, 3, 5)], what: "transpose");
        GradCheck.Check(x => x[0].Reshape(6, 2), [R(4, 3, 4)], what: "reshape");
        GradCheck.Check(x => x[0].Slice(1, 2), [R(5, 4, 3)], what: "slice");
        GradCheck.Check(x => x[0][2], [R(6, 4, 3)], what: "index");
    }

    [Fact]
    public void SumAxisValues()
    {
        var t = Tensor.Arange(6).Reshape(2, 3);
        Assert.Equal([3f, 5f, 7f], t.Sum(0).ToArray());
        Assert.Equal([1f, 4f], t.Mean(1).ToArray());
        Assert.Equal([2, 1], t.Mean(1, keepDim: true).Shape);
    }
}
