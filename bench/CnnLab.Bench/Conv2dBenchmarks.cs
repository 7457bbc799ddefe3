using BenchmarkDotNet.Attributes;
using CnnLab.Kernels;
using CnnLab.Tensors;

namespace CnnLab.Bench;

/// <summary>
/// Conv2d forward and backward (dx + dW + db) on cnn-small's layer shapes and lenet5's second at batch 64
/// (GFLOP/s = <see cref="Conv2dGeometry.Flops"/> / time; backward does twice the forward's work), with
/// the kernel's own choice ("auto": Winograd F(2x2, 3x3) for conv2's forward, dx and dW; the channel-blocked
/// direct convolution for lenet-conv2's forward and dW) and with im2col + GEMM only.
/// </summary>
[MemoryDiagnoser]
public class Conv2dBenchmarks
{
    private Conv2dGeometry _g;
    private float[] _x = [], _w = [], _b = [], _y = [], _dx = [], _dw = [], _db = [];

    /// <summary>"conv1": 1→32, 3x3, pad 1 on 28x28; "conv2": 32→64, 3x3, pad 1 on 14x14; "lenet-conv2": 6→16, 5x5 on 14x14.</summary>
    [Params("conv1", "conv2", "lenet-conv2")]
    public string Layer { get; set; } = "conv2";

    [Params(1, 2)]
    public int Threads { get; set; }

    [Params("auto", "im2col")]
    public string Algorithm { get; set; } = "auto";

    [GlobalSetup]
    public void Setup()
    {
        _g = Layer switch
        {
            "conv1" => new Conv2dGeometry(64, 1, 28, 28, 32, 3, 3, PH: 1, PW: 1),
            "lenet-conv2" => new Conv2dGeometry(64, 6, 14, 14, 16, 5, 5),
            _ => new Conv2dGeometry(64, 32, 14, 14, 64, 3, 3, PH: 1, PW: 1),
        };
        (_x, _w, _b, _y, _dx, _dw, _db) = ConvBuffers.Make(_g);
        Parallelism.MaxThreads = Threads;
    }

    private ConvAlgorithm Pinned => Algorithm == "im2col" ? ConvAlgorithm.Im2ColGemm : ConvAlgorithm.Auto;

    [Benchmark]
    public void Forward() => Conv2dKernel.Forward(_g, _x, _w, _b, true, _y, algorithm: Pinned);

    [Benchmark]
    public void Backward() => Conv2dKernel.Backward(_g, _x, _w, _y, _dx, _dw, _db, algorithm: Pinned);
}

/// <summary>The im2col + GEMM kernel against its direct-loop reference twin on a small case (batch 4, 8→16, 3x3 on 12x12).</summary>
[MemoryDiagnoser]
public class Conv2dFastVsReferenceBenchmarks
{
    private readonly Conv2dGeometry _g = new(4, 8, 12, 12, 16, 3, 3, PH: 1, PW: 1);
    private float[] _x = [], _w = [], _b = [], _y = [], _dx = [], _dw = [], _db = [];

    [GlobalSetup]
    public void Setup()
    {
        (_x, _w, _b, _y, _dx, _dw, _db) = ConvBuffers.Make(_g);
        Parallelism.MaxThreads = 1;
    }

    [Benchmark(Baseline = true)]
    public void ReferenceForward() => Conv2dReference.Forward(_g, _x, _w, _b, true, _y);

    [Benchmark]
    public void FastForward() => Conv2dKernel.Forward(_g, _x, _w, _b, true, _y);

    [Benchmark]
    public void ReferenceBackward() => Conv2dReference.Backward(_g, _x, _w, _y, _dx, _dw, _db);

    [Benchmark]
    public void FastBackward() => Conv2dKernel.Backward(_g, _x, _w, _y, _dx, _dw, _db);
}

internal static class ConvBuffers
{
    // x, w, b random; y doubles as dy in the backward benchmarks; gradients accumulate (values do not matter for timing).
    public static (float[] X, float[] W, float[] B, float[] Y, float[] Dx, float[] Dw, float[] Db) Make(Conv2dGeometry g)
    {
        var r = new Generator(1);
        var x = new float[g.N * g.C * g.H * g.W];
        var w = new float[g.OC * g.ColRows];
        var b = new float[g.OC];
        var y = new float[g.N * g.OC * g.OH * g.OW];
        r.FillNormal(x, 0, 1); r.FillNormal(w, 0, 0.1f); r.FillNormal(b, 0, 0.1f); r.FillNormal(y, 0, 1);
        return (x, w, b, y, new float[x.Length], new float[w.Length], new float[b.Length]);
    }
}
