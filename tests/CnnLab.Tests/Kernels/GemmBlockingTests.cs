using CnnLab.Kernels;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

// Sizes on each side of every block boundary of the packed GEMM (register tiles 6x64 / 8x48 / 6x16,
// KC, MC, NC), all four transposes, alpha/beta variants, padded leading dimensions, and the fused
// epilogue, each against the plain reference.
public class GemmBlockingTests
{
    public static TheoryData<int, int, int, bool, bool> BoundaryShapes()
    {
        var data = new TheoryData<int, int, int, bool, bool>();
        int kc = Gemm.KcMax;
        int[][] sizes =
        [
            [5, 63, 7], [6, 64, 8], [7, 65, 9],         // 6 x 64 tile, 8 x 8 transposes
            [7, 47, 15], [8, 48, 16], [9, 49, 17],      // 8 x 48 tile
            [13, 15, 3], [12, 16, 1], [11, 17, 2],      // 6 x 16 tile (AVX2)
            [6, 64, kc - 1], [8, 48, kc + 1], [7, 33, 2 * kc + 1],     // KC slices
            [Gemm.McMax + 1, 20, 10], [Gemm.McMax - 1, 9, 33],         // MC blocks
            [3, Gemm.NcMax + 1, 12], [10, Gemm.NcMax - 1, 5],          // NC blocks
        ];
        foreach (var s in sizes)
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    data.Add(s[0], s[1], s[2], ta, tb);
        return data;
    }

    [Theory]
    [MemberData(nameof(BoundaryShapes))]
    public void MatchesReferenceAtBlockBoundaries(int m, int n, int k, bool transA, bool transB)
        => Compare(m, n, k, transA, transB, alpha: 1f, beta: 0f, pad: 0, seed: m * 7919 + n * 31 + k);

    public static TheoryData<int> Widths()
    {
        var data = new TheoryData<int> { 0 };
        if (System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated) data.Add(256);
        if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) data.Add(512);
        return data;
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void EveryKernelWidthMatchesReference(int vectorBits)
    {
        // Each register tile (scalar 4x4, AVX2 6x16, AVX-512 6x64 and 8x48) on full and edge tiles,
        // two K slices, all transposes, with a row bias and ReLU.
        foreach (var (m, n) in new[] { (4, 4), (13, 33), (12, 64), (17, 97) })
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                {
                    int k = Gemm.KcMax + 9;
                    var g = new Generator(m * 100 + n);
                    int lda = ta ? m : k, ldb = tb ? k : n;
                    var a = Random(g, m * k); var b = Random(g, k * n); var c0 = Random(g, m * n); var bias = Random(g, m);
                    var c1 = (float[])c0.Clone();
                    Gemm.SgemmWithWidth(vectorBits, ta, tb, m, n, k, 0.5f, a, lda, b, ldb, 0.5f, c0, n, GemmEpilogue.WithRowBias(bias, relu: true));
                    Gemm.Reference(ta, tb, m, n, k, 0.5f, a, lda, b, ldb, 0.5f, c1, n);
                    for (int i = 0; i < c1.Length; i++)
                    {
                        float expect = MathF.Max(c1[i] + bias[i / n], 0f);
                        Assert.True(MathF.Abs(c0[i] - expect) <= 1e-3f, $"{vectorBits} bits m={m} n={n} {ta}/{tb}: C[{i}] {c0[i]} vs {expect}");
                    }
                }
    }

    [Theory]
    [InlineData(1f, 1f)]
    [InlineData(-0.5f, 0.25f)]
    [InlineData(2f, -1f)]
    [InlineData(0.75f, 0f)]
    public void MatchesReferenceForAlphaBeta(float alpha, float beta)
    {
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
                Compare(29, 70, Gemm.KcMax + 5, ta, tb, alpha, beta, pad: 0, seed: 3);
    }

    [Fact]
    public void LeadingDimensionsWiderThanTheMatrixLeaveTheGapsAlone()
    {
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
                Compare(19, 67, 41, ta, tb, alpha: 1.5f, beta: 0.5f, pad: 5, seed: 4);
    }

    [Fact]
    public void AlphaZeroOnlyScalesC()
    {
        var c = new float[] { 1, 2, 3, 4 };
        Gemm.Sgemm(false, false, 2, 2, 3, 0f, new float[] { float.NaN, 0, 0, 0, 0, 0 }, 3, new float[6], 2, 2f, c, 2);
        Assert.Equal(new float[] { 2, 4, 6, 8 }, c);
    }

    [Fact]
    public void BetaZeroIgnoresNaNInCOnFullTiles()
    {
        int m = 16, n = 128, k = 20;
        var g = new Generator(6);
        var a = Random(g, m * k); var b = Random(g, k * n);
        var c = new float[m * n];
        Array.Fill(c, float.NaN);
        Gemm.Sgemm(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n);
        Assert.All(c, v => Assert.False(float.IsNaN(v)));
    }

    [Fact]
    public void ThreadCountDoesNotChangeResultsForAnyTranspose()
    {
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
            {
                int m = 70, n = 203, k = Gemm.KcMax * 2 + 3;
                var g = new Generator(7);
                var a = Random(g, m * k); var b = Random(g, k * n); var c0 = Random(g, m * n);
                var c1 = (float[])c0.Clone(); var c2 = (float[])c0.Clone();
                int lda = ta ? m : k, ldb = tb ? k : n;
                using (Parallelism.UseThreads(1))
                    Gemm.Sgemm(ta, tb, m, n, k, 0.5f, a, lda, b, ldb, 0.5f, c1, n);
                using (Parallelism.UseThreads(2))
                    Gemm.Sgemm(ta, tb, m, n, k, 0.5f, a, lda, b, ldb, 0.5f, c2, n);
                Assert.Equal(c1, c2);
            }
    }

    [Theory]
    [InlineData(false, false, false)]
    [InlineData(true, false, false)]
    [InlineData(false, true, false)]
    [InlineData(false, false, true)]
    [InlineData(true, false, true)]
    [InlineData(false, true, true)]
    public void EpilogueEqualsSgemmThenBiasThenRelu(bool rowBias, bool colBias, bool relu)
    {
        // Sizes with edge tiles in both directions and two K slices, so the epilogue must wait for the last.
        int m = 31, n = 150, k = Gemm.KcMax + 17;
        var g = new Generator(8);
        var a = Random(g, m * k); var b = Random(g, k * n); var c0 = Random(g, m * n);
        var rb = Random(g, m); var cb = Random(g, n);
        var fused = (float[])c0.Clone();
        var epilogue = new GemmEpilogue { RowBias = rowBias ? rb : default, ColBias = colBias ? cb : default, Relu = relu };
        Gemm.Sgemm(false, true, m, n, k, 0.5f, a, k, b, k, 0.25f, fused, n, epilogue);

        var plain = (float[])c0.Clone();
        Gemm.Sgemm(false, true, m, n, k, 0.5f, a, k, b, k, 0.25f, plain, n);
        var reference = (float[])c0.Clone();
        Gemm.Reference(false, true, m, n, k, 0.5f, a, k, b, k, 0.25f, reference, n);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float bias = (rowBias ? rb[i] : 0f) + (colBias ? cb[j] : 0f);
                float expectPlain = plain[i * n + j] + bias, expectRef = reference[i * n + j] + bias;
                if (relu) { expectPlain = MathF.Max(expectPlain, 0f); expectRef = MathF.Max(expectRef, 0f); }
                Assert.Equal(expectPlain, fused[i * n + j]);   // same operations in the same order: bit for bit
                Assert.True(MathF.Abs(expectRef - fused[i * n + j]) <= 1e-3f, $"C[{i},{j}] {fused[i * n + j]} vs {expectRef}");
            }
        if (relu) Assert.Contains(fused, v => v == 0f);
    }

    [Fact]
    public void EpilogueRejectsWrongBiasLengths()
    {
        var a = new float[4]; var b = new float[4]; var c = new float[4];
        Assert.Throws<ArgumentException>(() => Gemm.Sgemm(false, false, 2, 2, 2, 1f, a, 2, b, 2, 0f, c, 2, GemmEpilogue.WithRowBias(new float[3])));
        Assert.Throws<ArgumentException>(() => Gemm.Sgemm(false, false, 2, 2, 2, 1f, a, 2, b, 2, 0f, c, 2, GemmEpilogue.WithColBias(new float[1])));
        Assert.Throws<ArgumentException>(() => Gemm.Sgemm(false, false, 2, 2, 2, 1f, a, 2, b, 2, 0f, c, 2,
            new GemmEpilogue { RowBias = new float[2], ColBias = new float[2] }));
    }

    [Fact]
    public void EpilogueAppliesWhenKIsZero()
    {
        var c = new float[] { 1, -5, 3, -1 };
        Gemm.Sgemm(false, false, 2, 2, 0, 1f, new float[0], 1, new float[0], 2, 1f, c, 2, GemmEpilogue.WithColBias(new float[] { 1, 2 }, relu: true));
        Assert.Equal(new float[] { 2, 0, 4, 1 }, c);
    }

    [Fact]
    public void TilesThatShareAColumnBlockShareItsPackedB()
    {
        // Two row blocks, two or more column blocks, two K slices, beta, a row bias and ReLU: every tile of a
        // column block takes each slice of the B block packed once for the run of tiles a thread holds. The
        // reference on 1 and 2 threads, and the same bits on both (each element is still one thread's sum).
        int m = Gemm.McMax + 7, n = Gemm.NcMax + 9, k = Gemm.KcMax + 5;
        var g = new Generator(17);
        var a = Random(g, m * k); var b = Random(g, k * n); var c0 = Random(g, m * n); var bias = Random(g, m);
        var expected = (float[])c0.Clone();
        Gemm.Reference(false, false, m, n, k, 0.5f, a, k, b, n, 0.25f, expected, n);
        for (int i = 0; i < expected.Length; i++) expected[i] = Math.Max(0f, expected[i] + bias[i / n]);
        var results = new List<float[]>();
        foreach (int threads in new[] { 1, 2 })
        {
            var c = (float[])c0.Clone();
            using (ThreadCount.Use(threads))
                Gemm.Sgemm(false, false, m, n, k, 0.5f, a, k, b, n, 0.25f, c, n, GemmEpilogue.WithRowBias(bias, relu: true));
            for (int i = 0; i < c.Length; i++)
                Assert.True(MathF.Abs(c[i] - expected[i]) <= 1e-3f + 1e-5f * MathF.Abs(expected[i]),
                    $"{threads} threads: C[{i / n},{i % n}] {c[i]} vs {expected[i]}");
            results.Add(c);
        }
        Assert.Equal(results[0], results[1]);
    }

    private static float[] Random(Generator g, int count)
    {
        var x = new float[count];
        g.FillNormal(x, 0, 1);
        return x;
    }

    // Runs Sgemm and Reference on the same data; with pad > 0 every leading dimension is wider than
    // its matrix and the gap elements of C must come out unchanged.
    private static void Compare(int m, int n, int k, bool transA, bool transB, float alpha, float beta, int pad, int seed)
    {
        var g = new Generator(seed);
        int lda = (transA ? m : k) + pad, ldb = (transB ? k : n) + pad, ldc = n + pad;
        var a = Random(g, (transA ? k : m) * lda);
        var b = Random(g, (transB ? n : k) * ldb);
        var c0 = Random(g, m * ldc);
        var c1 = (float[])c0.Clone();
        Gemm.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c0, ldc);
        Gemm.Reference(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c1, ldc);
        float tol = 2e-5f * (1 + MathF.Abs(alpha)) * MathF.Sqrt(k + 1) * 4;
        for (int i = 0; i < c0.Length; i++)
            Assert.True(MathF.Abs(c0[i] - c1[i]) <= tol + 1e-6f * MathF.Abs(c1[i]),
                $"{(transA ? "T" : "N")}{(transB ? "T" : "N")} m={m} n={n} k={k}: C[{i / ldc},{i % ldc}] {c0[i]} vs {c1[i]}");
    }
}
