using CnnLab.Kernels;
using CnnLab.Tensors;

namespace CnnLab.Benchmarks;

/// <summary>
/// GFLOP/s of <see cref="Gemm.Sgemm(bool, bool, int, int, int, float, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, float, Span{float}, int)"/>
/// on the cases bench/gemm-openblas.py times OpenBLAS on: square n (NN), and the CNN-shaped product
/// M = 64, N = 25088, K = 288 ("cnn") with the NT and TN variants its backward uses.
/// </summary>
/// <remarks>PyTorch: none (numpy's <c>a @ b</c> through OpenBLAS is the reference side).</remarks>
public static class GemmBenchmark
{
    /// <summary>The case names, in bench/gemm-openblas.py's order.</summary>
    public static IReadOnlyList<string> Cases { get; } = ["256", "512", "1024", "2048", "cnn", "cnnNT", "cnnTN"];

    /// <summary>Best-of-runs GFLOP/s (2·M·N·K / time) of one case, timed for about <paramref name="seconds"/>.</summary>
    public static double Run(string name, int threads, double seconds = 1.5)
    {
        var (ta, tb, m, n, k) = name switch
        {
            "cnn" => (false, false, 64, 25088, 288),
            "cnnNT" => (false, true, 64, 288, 25088),
            "cnnTN" => (true, false, 288, 25088, 64),
            _ when int.TryParse(name, out int s) && s > 0 && s <= 8192 => (false, false, s, s, s),
            _ => throw new ArgumentException($"unknown GEMM case '{name}': expected one of {string.Join(", ", Cases)} or a size 1..8192"),
        };
        using var threadScope = Parallelism.UseThreads(threads);
        var gen = new Generator(1);
        var a = new float[m * k];
        var b = new float[k * n];
        var c = new float[m * n];
        gen.FillUniform(a, 0f, 1f);
        gen.FillUniform(b, 0f, 1f);
        int lda = ta ? m : k, ldb = tb ? k : n;
        double best = BestTime.Seconds(() => Gemm.Sgemm(ta, tb, m, n, k, 1f, a, lda, b, ldb, 0f, c, n), seconds);
        return 2.0 * m * n * k / best / 1e9;
    }
}
