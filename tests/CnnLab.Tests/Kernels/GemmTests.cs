using CnnLab.Kernels;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

public class GemmTests
{
    public static TheoryData<int, int, int, bool, bool> Shapes()
    {
        var data = new TheoryData<int, int, int, bool, bool>();
        int[][] sizes = [[1, 1, 1], [3, 5, 7], [4, 32, 9], [17, 33, 65], [64, 100, 31], [5, 130, 300], [128, 96, 64], [0, 4, 4], [4, 4, 0]];
        foreach (var s in sizes)
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    data.Add(s[0], s[1], s[2], ta, tb);
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void FastPathMatchesReference(int m, int n, int k, bool transA, bool transB)
    {
        var g = new Generator(m * 1000 + n * 10 + k);
        var a = new float[m * k];
        var b = new float[k * n];
        var c0 = new float[m * n];
        g.FillNormal(a, 0, 1);
        g.FillNormal(b, 0, 1);
        g.FillNormal(c0, 0, 1);
        var c1 = (float[])c0.Clone();
        int lda = Math.Max(1, transA ? m : k), ldb = Math.Max(1, transB ? k : n);
        Gemm.Sgemm(transA, transB, m, n, k, 0.5f, a, lda, b, ldb, 0.25f, c0, Math.Max(1, n));
        Gemm.Reference(transA, transB, m, n, k, 0.5f, a, lda, b, ldb, 0.25f, c1, Math.Max(1, n));
        for (int i = 0; i < c0.Length; i++)
            Assert.True(Math.Abs(c0[i] - c1[i]) <= 1e-4f * (1 + Math.Sqrt(k)), $"C[{i}] {c0[i]} vs {c1[i]}");
    }

    [Fact]
    public void BetaZeroIgnoresNaNInC()
    {
        var a = new float[] { 1, 2 };
        var b = new float[] { 3, 4 };
        var c = new float[] { float.NaN };
        Gemm.Sgemm(false, false, 1, 1, 2, 1f, a, 2, b, 1, 0f, c, 1);
        Assert.Equal(11f, c[0]);
    }

    [Fact]
    public void RejectsTooSmallBuffers()
    {
        Assert.Throws<ArgumentException>(() => Gemm.Sgemm(false, false, 2, 2, 2, 1f, new float[3], 2, new float[4], 2, 0f, new float[4], 2));
    }

    [Fact]
    public void ThreadCountDoesNotChangeResults()
    {
        var g = new Generator(5);
        int m = 96, n = 80, k = 70;
        var a = new float[m * k]; var b = new float[k * n];
        g.FillNormal(a, 0, 1); g.FillNormal(b, 0, 1);
        var c1 = new float[m * n]; var c2 = new float[m * n];
        using (Parallelism.UseThreads(1))
            Gemm.Sgemm(false, false, m, n, k, 1f, a, k, b, n, 0f, c1, n);
        using (Parallelism.UseThreads(2))
            Gemm.Sgemm(false, false, m, n, k, 1f, a, k, b, n, 0f, c2, n);
        Assert.Equal(c1, c2);
    }
    [Fact]
    public void OneThreadCallAllocatesNothing()
    {
        // A convolution makes about a thousand such calls per training step (its per-image products run on one
        // thread inside a parallel loop): none may leave garbage behind (its job object was once 140 bytes each).
        int m = 40, n = 100, k = 150;
        var g = new Generator(11);
        var a = new float[m * k]; var b = new float[k * n]; var c = new float[m * n];
        g.FillNormal(a, 0, 1); g.FillNormal(b, 0, 1);
        Gemm.Sgemm(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n);
        Gemm.Sgemm(true, true, m, n, k, 1f, a, m, b, k, 0f, c, n);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++)
        {
            Gemm.Sgemm(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n);
            Gemm.Sgemm(true, true, m, n, k, 1f, a, m, b, k, 0f, c, n);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
