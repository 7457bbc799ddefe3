using BenchmarkDotNet.Attributes;
using CnnLab.Kernels;
using CnnLab.Tensors;

namespace CnnLab.Bench;

/// <summary>
/// Max and average pooling (2x2, stride 2) forward and backward on cnn-small's first pooling layer
/// (batch 128, 32 channels, 28x28), the parallel kernel against its scalar single-threaded twin.
/// </summary>
[MemoryDiagnoser]
public class PoolingBenchmarks
{
    private readonly Pool2dGeometry _g = new(128, 32, 28, 28, 2, 2, 2, 2);
    private float[] _x = [], _y = [], _dy = [], _dx = [];
    private int[] _idx = [];

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var gen = new Generator(1);
        _x = new float[_g.N * _g.C * _g.H * _g.W];
        _dx = new float[_x.Length];
        _y = new float[_g.N * _g.C * _g.OH * _g.OW];
        _dy = new float[_y.Length];
        _idx = new int[_y.Length];
        gen.FillNormal(_x, 0f, 1f);
        gen.FillNormal(_dy, 0f, 1f);
        Parallelism.MaxThreads = Threads;
        MaxPool2dKernel.Forward(_g, _x, _y, _idx);
    }

    [Benchmark(Baseline = true)]
    public void MaxPoolForwardReference() => MaxPool2dKernel.ForwardReference(_g, _x, _y, _idx);

    [Benchmark]
    public void MaxPoolForward() => MaxPool2dKernel.Forward(_g, _x, _y, _idx);

    [Benchmark]
    public void MaxPoolBackwardReference() => MaxPool2dKernel.BackwardReference(_g, _dy, _idx, _dx);

    [Benchmark]
    public void MaxPoolBackward() => MaxPool2dKernel.Backward(_g, _dy, _idx, _dx);

    [Benchmark]
    public void AvgPoolForwardReference() => AvgPool2dKernel.ForwardReference(_g, true, _x, _y);

    [Benchmark]
    public void AvgPoolForward() => AvgPool2dKernel.Forward(_g, true, _x, _y);

    [Benchmark]
    public void AvgPoolBackwardReference() => AvgPool2dKernel.BackwardReference(_g, true, _dy, _dx);

    [Benchmark]
    public void AvgPoolBackward() => AvgPool2dKernel.Backward(_g, true, _dy, _dx);

    [Benchmark]
    public void ReluForwardReference() => ReluKernel.ForwardReference(_x, _dx);

    [Benchmark]
    public void ReluForward() => ReluKernel.Forward(_x, _dx);

    [Benchmark]
    public void ReluBackwardReference() => ReluKernel.BackwardReference(_x, _x, _dx);

    [Benchmark]
    public void ReluBackward() => ReluKernel.Backward(_x, _x, _dx);
}

/// <summary>BatchNorm2d's kernels on cnn-bn's first BN layer (batch 128, 32 channels, 28x28), parallel against the single-threaded twins.</summary>
[MemoryDiagnoser]
public class BatchNormBenchmarks
{
    private const int N = 128, C = 32, S = 28 * 28;
    private float[] _x = [], _y = [], _dy = [], _scale = [], _shift = [];
    private readonly double[] _mean = new double[C], _var = new double[C], _invStd = new double[C], _sumDy = new double[C],
        _sumDyXhat = new double[C];

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var gen = new Generator(2);
        _x = new float[N * C * S];
        _y = new float[_x.Length];
        _dy = new float[_x.Length];
        _scale = new float[C];
        _shift = new float[C];
        gen.FillNormal(_x, 0f, 1f);
        gen.FillNormal(_dy, 0f, 1f);
        gen.FillNormal(_scale, 1f, 0.1f);
        for (int c = 0; c < C; c++) _invStd[c] = 1.0;
        Parallelism.MaxThreads = Threads;
    }

    [Benchmark(Baseline = true)]
    public void StatisticsReference() => BatchNormKernel.StatisticsReference(_x, N, C, S, _mean, _var);

    [Benchmark]
    public void Statistics() => BatchNormKernel.Statistics(_x, N, C, S, _mean, _var);

    [Benchmark]
    public void ScaleShiftReference() => BatchNormKernel.ScaleShiftReference(_x, _y, N, C, S, _scale, _shift);

    [Benchmark]
    public void ScaleShift() => BatchNormKernel.ScaleShift(_x, _y, N, C, S, _scale, _shift);

    [Benchmark]
    public void GradientSumsReference() => BatchNormKernel.GradientSumsReference(_dy, _x, N, C, S, _mean, _invStd, _sumDy, _sumDyXhat);

    [Benchmark]
    public void GradientSums() => BatchNormKernel.GradientSums(_dy, _x, N, C, S, _mean, _invStd, _sumDy, _sumDyXhat);
}
