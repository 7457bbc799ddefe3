using BenchmarkDotNet.Attributes;
using CnnLab.Kernels;
using CnnLab.Tensors;

namespace CnnLab.Bench;

/// <summary>Square sgemm, fast kernel vs its scalar reference twin (GFLOP/s = 2n³ / time).</summary>
[MemoryDiagnoser]
public class GemmBenchmarks
{
    private float[] _a = [], _b = [], _c = [];

    [Params(256, 512, 1024)]
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

    [Benchmark(Baseline = true)]
    public void Sgemm() => Gemm.Sgemm(false, false, N, N, N, 1f, _a, N, _b, N, 0f, _c, N);
}
