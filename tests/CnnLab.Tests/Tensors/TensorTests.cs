using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

public class TensorTests
{
    [Fact]
    public void CreationHasShapeAndValues()
    {
        var z = Tensor.Zeros(2, 3);
        Assert.Equal([2, 3], z.Shape);
        Assert.Equal(6, z.Numel);
        Assert.All(z.ToArray(), v => Assert.Equal(0f, v));
        Assert.All(Tensor.Ones(4).ToArray(), v => Assert.Equal(1f, v));
        Assert.All(Tensor.Full(2.5f, 2, 2).ToArray(), v => Assert.Equal(2.5f, v));
        Assert.Equal([0f, 2f, 4f], Tensor.Arange(0, 5, 2).ToArray());
        Assert.Equal([0f, 1f, 2f], Tensor.Arange(3).ToArray());
        var s = Tensor.Scalar(3f);
        Assert.Empty(s.Shape);
        Assert.Equal(3f, s.Item());
    }

    [Fact]
    public void FromArrayChecksElementCount()
    {
        var t = Tensor.FromArray([1, 2, 3, 4, 5, 6], 2, 3);
        Assert.Equal(6f, t[1, 2]);
        var e = Assert.Throws<ArgumentException>(() => Tensor.FromArray([1, 2, 3], 2, 2));
        Assert.Contains("[2, 2]", e.Message);
    }

    [Fact]
    public void SeededRandomIsReproducibleAndSeedsDiffer()
    {
        var a = Tensor.Randn(new Generator(7), 100);
        var b = Tensor.Randn(new Generator(7), 100);
        var c = Tensor.Randn(new Generator(8), 100);
        Assert.Equal(a.ToArray(), b.ToArray());
        Assert.NotEqual(a.ToArray(), c.ToArray());
        var u = Tensor.Rand(new Generator(1), 10_000);
        Assert.All(u.ToArray(), v => Assert.InRange(v, 0f, 0.99999994f));
    }

    [Fact]
    public void GeneratorStateRoundTrips()
    {
        var g = new Generator(3);
        g.NextGaussian();
        var state = g.GetState();
        var expected = Enumerable.Range(0, 5).Select(_ => g.NextGaussian()).ToArray();
        var h = new Generator(99);
        h.SetState(state);
        Assert.Equal(expected, Enumerable.Range(0, 5).Select(_ => h.NextGaussian()).ToArray());
    }

    [Fact]
    public void ReshapeSharesStorageAndInfersOneDim()
    {
        var t = Tensor.Arange(12).Reshape(3, -1);
        Assert.Equal([3, 4], t.Shape);
        var v = t.View(2, 6);
        v[0, 0] = 42;
        Assert.Equal(42f, t[0, 0]);
        Assert.Throws<ArgumentException>(() => t.Reshape(5, -1));
        Assert.Throws<ArgumentException>(() => t.Reshape(-1, -1));
    }

    [Fact]
    public void FlattenMergesDims()
    {
        var t = Tensor.Zeros(2, 3, 4, 5);
        Assert.Equal([2, 60], t.Flatten(1).Shape);
        Assert.Equal([120], t.Flatten().Shape);
        Assert.Equal([2, 12, 5], t.Flatten(1, 2).Shape);
    }

    [Fact]
    public void SliceAndIndexAlongBatch()
    {
        var t = Tensor.Arange(24).Reshape(4, 3, 2);
        var s = t.Slice(1, 2);
        Assert.Equal([2, 3, 2], s.Shape);
        Assert.Equal(6f, s[0, 0, 0]);
        var row = t[3];
        Assert.Equal([3, 2], row.Shape);
        Assert.Equal(18f, row[0, 0]);
        Assert.Equal(18f, t[-1][0, 0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Slice(3, 2));
        Assert.Throws<IndexOutOfRangeException>(() => t[4]);
    }

    [Fact]
    public void ToStringIsReadable()
    {
        var t = Tensor.FromArray([1, 2, 3, 4], 2, 2);
        var text = t.ToString();
        Assert.Contains("1.0000, 2.0000", text);
        Assert.Contains("shape=[2, 2]", text);
        var big = Tensor.Zeros(2000);
        Assert.Contains("...", big.ToString());
        Assert.Contains("requires_grad=True", Tensor.Zeros(1).RequiresGrad_().ToString());
    }

    [Fact]
    public void BroadcastShapesFollowNumPy()
    {
        Assert.Equal([4, 3, 5], Shape.Broadcast([4, 1, 5], [3, 1]));
        Assert.Throws<ArgumentException>(() => Shape.Broadcast([2, 3], [4]));
    }
}
