using BenchmarkDotNet.Attributes;
using CnnLab.Kernels;
using CnnLab.Tensors;

namespace CnnLab.Bench;

/// <summary>
/// cnn-small's first stage, max_pool2d(relu(conv2d(x, w, b, padding=1)), 2) on 128 images of 1x28x28 with
/// 32 filters, 1 thread: the general fused path (im2col + GEMM per image, the pool on the block in cache,
/// int argmax; baseline) against the direct one-channel kernel (ConvReluMaxPoolSingleChannel: window
/// codes of a byte), forward and the weight and bias gradient.
/// </summary>
public class FirstStageBenchmarks
{
    private static readonly Conv2dGeometry G = new(128, 1, 28, 28, 32, 3, 3, PH: 1, PW: 1);
    private static readonly Pool2dGeometry Pool = new(128, 32, 28, 28, 2, 2, 2, 2, 0, 0, 1, 1, false);
    private readonly float[] _x = new float[128 * 784], _w = new float[32 * 9], _b = new float[32];
    private readonly float[] _pooled = new float[128 * 32 * 196], _dPooled = new float[128 * 32 * 196];
    private readonly int[] _argmax = new int[128 * 32 * 196];
    private readonly byte[] _codes = new byte[ConvReluMaxPoolSingleChannel.CodesLength(G, Pool)];
    private readonly float[] _dw = new float[32 * 9], _db = new float[32];

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.MaxThreads = 1;
        var r = new Generator(1);
        r.FillNormal(_x, 0, 1);
        r.FillNormal(_w, 0, 0.3f);
        r.FillNormal(_b, 0, 0.1f);
        r.FillNormal(_dPooled, 0, 1);
        ConvReluMaxPoolKernel.Forward(G, Pool, _x, _w, _b, true, _pooled, _argmax);
        ConvReluMaxPoolSingleChannel.Forward(G, Pool, _x, _w, _b, true, _pooled, _codes);
    }

    [Benchmark(Baseline = true)]
    public void ForwardGeneral() => ConvReluMaxPoolKernel.Forward(G, Pool, _x, _w, _b, true, _pooled, _argmax);

    [Benchmark]
    public void ForwardDirect() => ConvReluMaxPoolSingleChannel.Forward(G, Pool, _x, _w, _b, true, _pooled, _codes);

    [Benchmark]
    public void WeightGradientGeneral() => ConvReluMaxPoolKernel.Backward(G, Pool, _x, _w, _pooled, _argmax, _dPooled, default, _dw, _db);

    [Benchmark]
    public void WeightGradientDirect() => ConvReluMaxPoolSingleChannel.BackwardWeights(G, Pool, _x, _codes, _dPooled, _dw, _db);
}
