using BenchmarkDotNet.Attributes;
using CnnLab.Kernels;
using CnnLab.Tensors;

namespace CnnLab.Bench;

/// <summary>
/// The first stage of cnn-small, max_pool2d(relu(conv2d(x, w, b, padding=1)), 2) with 32 3x3 filters, and of
/// lenet5 (6 5x5 filters, padding 2), on 128 images of 1x28x28, 1 thread: the general fused path (im2col +
/// GEMM per image, the pool on the block in cache, int argmax; baseline) against the direct one-channel
/// kernel (ConvReluMaxPoolSingleChannel: window codes of a byte), forward and the weight and bias gradient.
/// </summary>
public class FirstStageBenchmarks
{
    private Conv2dGeometry _g;
    private Pool2dGeometry _pool;
    private float[] _x = [], _w = [], _b = [], _pooled = [], _dPooled = [], _dw = [], _db = [];
    private int[] _argmax = [];
    private byte[] _codes = [];

    [Params("cnn-small", "lenet5")]
    public string Model { get; set; } = "cnn-small";

    [GlobalSetup]
    public void Setup()
    {
        int oc = Model == "lenet5" ? 6 : 32, k = Model == "lenet5" ? 5 : 3;
        _g = new Conv2dGeometry(128, 1, 28, 28, oc, k, k, PH: k / 2, PW: k / 2);
        _pool = new Pool2dGeometry(128, oc, 28, 28, 2, 2, 2, 2, 0, 0, 1, 1, false);
        (_x, _w, _b) = (new float[128 * 784], new float[oc * k * k], new float[oc]);
        (_pooled, _dPooled, _argmax) = (new float[128 * oc * 196], new float[128 * oc * 196], new int[128 * oc * 196]);
        (_dw, _db, _codes) = (new float[oc * k * k], new float[oc], new byte[ConvReluMaxPoolSingleChannel.CodesLength(_g, _pool)]);
        Parallelism.MaxThreads = 1;
        var r = new Generator(1);
        r.FillNormal(_x, 0, 1);
        r.FillNormal(_w, 0, 0.3f);
        r.FillNormal(_b, 0, 0.1f);
        r.FillNormal(_dPooled, 0, 1);
        ConvReluMaxPoolKernel.Forward(_g, _pool, _x, _w, _b, true, _pooled, _argmax);
        ConvReluMaxPoolSingleChannel.Forward(_g, _pool, _x, _w, _b, true, _pooled, _codes);
    }

    [Benchmark(Baseline = true)]
    public void ForwardGeneral() => ConvReluMaxPoolKernel.Forward(_g, _pool, _x, _w, _b, true, _pooled, _argmax);

    [Benchmark]
    public void ForwardDirect() => ConvReluMaxPoolSingleChannel.Forward(_g, _pool, _x, _w, _b, true, _pooled, _codes);

    [Benchmark]
    public void WeightGradientGeneral() => ConvReluMaxPoolKernel.Backward(_g, _pool, _x, _w, _pooled, _argmax, _dPooled, default, _dw, _db);

    [Benchmark]
    public void WeightGradientDirect() => ConvReluMaxPoolSingleChannel.BackwardWeights(_g, _pool, _x, _codes, _dPooled, _dw, _db);
}
