using BenchmarkDotNet.Attributes;
using CnnLab.Kernels;
using CnnLab.Tensors;

namespace CnnLab.Bench;

// GFLOP/s = 2·M·N·K / time. Compare with OpenBLAS: bench/gemm-openblas.py (same sizes).

/// <summary>Square sgemm C = A·B at n = 256..2048 on 1 and 2 threads.</summary>
[MemoryDiagnoser]
public class GemmBenchmarks
{
    private float[] _a = [], _b = [], _c = [];

    [Params(256, 512, 1024, 2048)]
    public int N { get; set; }

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(1);
        _a = new float[N * N]; _b = new float[N * N]; _c = new float[N * N];
        g.FillNormal(_a, 0, 1); g.FillNormal(_b, 0, 1);
        Parallelism.MaxThreads = Threads;
    }

    [Benchmark]
    public void Sgemm() => Gemm.Sgemm(false, false, N, N, N, 1f, _a, N, _b, N, 0f, _c, N);
}

/// <summary>
/// The CNN-shaped products of a 3x3 conv with 32 -> 64 channels on 28x28 images, batch 32
/// (P = 25,088 pixels): forward Y = W·cols (64 x 288 by 288 x P), dW = dY·colsᵀ (NT),
/// dcols = Wᵀ·dY (TN).
/// </summary>
[MemoryDiagnoser]
public class GemmCnnBenchmarks
{
    private const int M = 64, K = 288, P = 25088;
    private float[] _w = [], _cols = [], _y = [], _dw = [], _dcols = [];

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(2);
        _w = new float[M * K]; _cols = new float[K * P]; _y = new float[M * P]; _dw = new float[M * K]; _dcols = new float[K * P];
        g.FillNormal(_w, 0, 1); g.FillNormal(_cols, 0, 1); g.FillNormal(_y, 0, 1);
        Parallelism.MaxThreads = Threads;
    }

    [Benchmark]
    public void ForwardNN() => Gemm.Sgemm(false, false, M, P, K, 1f, _w, K, _cols, P, 0f, _y, P);

    [Benchmark]
    public void WeightGradNT() => Gemm.Sgemm(false, true, M, K, P, 1f, _y, P, _cols, P, 0f, _dw, K);

    [Benchmark]
    public void InputGradTN() => Gemm.Sgemm(true, false, K, P, M, 1f, _w, K, _y, P, 0f, _dcols, P);
}

/// <summary>The fast sgemm against its scalar reference twin at n = 128 (one thread), for the speed-up.</summary>
public class GemmTwinBenchmarks
{
    private const int N = 128;
    private float[] _a = [], _b = [], _c = [];

    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(3);
        _a = new float[N * N]; _b = new float[N * N]; _c = new float[N * N];
        g.FillNormal(_a, 0, 1); g.FillNormal(_b, 0, 1);
        Parallelism.MaxThreads = 1;
    }

    [Benchmark(Baseline = true)]
    public void Reference() => Gemm.Reference(false, false, N, N, N, 1f, _a, N, _b, N, 0f, _c, N);

    [Benchmark]
    public void Sgemm() => Gemm.Sgemm(false, false, N, N, N, 1f, _a, N, _b, N, 0f, _c, N);
}
