using CnnLab.Kernels;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>A convolution's passes by one algorithm (or the planner's) against <see cref="Conv2dReference"/>, on 1 and 2 threads.</summary>
public static class ConvPassChecks
{
    /// <summary>
    /// y with a bias to 1e-5 of its largest value, the same bits on 1 and 2 threads, the plane statistics taken beside it those
    /// of y, and the ReLU'd forward max(y, 0).
    /// </summary>
    public static void ForwardMatchesTheReference(Conv2dGeometry g, ConvAlgorithm algorithm)
    {
        var x = Values(g.N * g.C * g.H * g.W, 3);
        var w = Values(g.OC * g.ColRows, 4);
        var b = Values(g.OC, 5);
        var expected = new float[g.N * g.OC * g.ColCols];
        Conv2dReference.Forward(g, x, w, b, true, expected);
        float[] Run(int threads, bool relu, double[] means, double[] squares)
        {
            var y = new float[expected.Length];
            using (ThreadCount.Use(threads)) Conv2dKernel.Forward(g, x, w, b, true, y, relu, means, squares, algorithm);
            return y;
        }
        var (means, squares) = (new double[g.N * g.OC], new double[g.N * g.OC]);
        var one = Run(1, relu: false, means, squares);
        var (means2, squares2) = (new double[g.N * g.OC], new double[g.N * g.OC]);
        Assert.Equal(one, Run(2, relu: false, means2, squares2));
        Assert.Equal(means, means2);
        Assert.Equal(squares, squares2);
        float scale = expected.Max(MathF.Abs);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], one[i], 1e-5f * scale);
        for (int plane = 0; plane < g.N * g.OC; plane++)
            Assert.Equal(BatchNormPlanes.MeanAndSquaredDeviations(one.AsSpan(plane * g.ColCols, g.ColCols)), (means[plane], squares[plane]));
        Assert.Equal(one.Select(v => MathF.Max(v, 0)), Run(1, relu: true, new double[g.N * g.OC], new double[g.N * g.OC]));
    }

    /// <summary>
    /// dx added to what is there and written, dW and db added, against the reference to 1e-5 of their largest values; the same
    /// bits on 1 and 2 threads; db bit for bit against im2col's (summed as every path sums it).
    /// </summary>
    public static void BackwardMatchesTheReference(Conv2dGeometry g, ConvAlgorithm algorithm)
    {
        var x = Values(g.N * g.C * g.H * g.W, 6);
        var w = Values(g.OC * g.ColRows, 7);
        var dy = Values(g.N * g.OC * g.ColCols, 8);
        var (dx0, dw0, db0) = (Values(x.Length, 9), Values(w.Length, 10), Values(g.OC, 11));
        (float[] Dx, float[] Dw, float[] Db) Run(int threads, bool overwriteDx, ConvAlgorithm pass)
        {
            var (dx, dw, db) = ((float[])dx0.Clone(), (float[])dw0.Clone(), (float[])db0.Clone());
            using (ThreadCount.Use(threads)) Conv2dKernel.Backward(g, x, w, dy, dx, dw, db, overwriteDx: overwriteDx, algorithm: pass);
            return (dx, dw, db);
        }
        var one = Run(1, overwriteDx: false, algorithm);
        var two = Run(2, overwriteDx: false, algorithm);
        Assert.Equal(one.Dx, two.Dx);
        Assert.Equal(one.Dw, two.Dw);
        Assert.Equal(one.Db, two.Db);
        Assert.Equal(Run(1, overwriteDx: false, ConvAlgorithm.Im2ColGemm).Db, one.Db);
        var (dxRef, dwRef, dbRef) = (new float[x.Length], new float[w.Length], new float[g.OC]);
        Conv2dReference.Backward(g, x, w, dy, dxRef, dwRef, dbRef);
        float dxScale = dxRef.Max(MathF.Abs), dwScale = dwRef.Max(MathF.Abs);
        for (int i = 0; i < dxRef.Length; i++) Assert.Equal(dx0[i] + dxRef[i], one.Dx[i], 1e-5f * dxScale);
        for (int i = 0; i < dwRef.Length; i++) Assert.Equal(dw0[i] + dwRef[i], one.Dw[i], 1e-5f * dwScale);
        var written = Run(1, overwriteDx: true, algorithm);
        for (int i = 0; i < dxRef.Length; i++) Assert.Equal(dxRef[i], written.Dx[i], 1e-5f * dxScale);
    }

    /// <summary>n values of N(0, 1) from <paramref name="seed"/>.</summary>
    public static float[] Values(long n, long seed)
    {
        var r = new Generator(seed);
        var v = new float[n];
        for (long i = 0; i < n; i++) v[i] = (float)r.NextGaussian();
        return v;
    }
}
