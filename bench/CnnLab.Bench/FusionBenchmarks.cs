using BenchmarkDotNet.Attributes;
using CnnLab.Kernels;
using CnnLab.Nn;
using CnnLab.Nn.Models;
using CnnLab.Tensors;

namespace CnnLab.Bench;

/// <summary>
/// One forward + backward of a zoo model at batch 64, 1 thread, buffers from a TensorArena as in training, with Sequential's fusions
/// (Conv2d → ReLU → MaxPool2d, Conv2d → BatchNorm2d → ReLU → MaxPool2d, BatchNorm2d → ReLU → MaxPool2d, Conv2d → ReLU)
/// off (baseline) and on.
/// </summary>
[MemoryDiagnoser]
public class FusionBenchmarks
{
    private Module _model = null!;
    private Tensor _x = null!;
    private readonly TensorArena _arena = new();
    private readonly int[] _labels = Enumerable.Range(0, 64).Select(i => i % 10).ToArray();

    [Params("cnn-small", "cnn-bn")]
    public string Model { get; set; } = "cnn-small";

    [Params(false, true)]
    public bool Fused { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.MaxThreads = 1;
        _model = ModelZoo.Create(Model, new Generator(1));
        Sequential.SetFusion(_model, Fused);
        _x = Tensor.Randn(new Generator(2), 64, 1, 28, 28);
    }

    [Benchmark]
    public void ForwardBackward()
    {
        _model.ZeroGrad();
        // Buffers recycled as in the trainer (fresh ones would measure page faults, not kernels).
        using (_arena.Use()) Functional.CrossEntropy(_model.Forward(_x), _labels).Backward();
    }
}

/// <summary>
/// im2col and col2im of cnn-small's second layer (32x14x14, 3x3, pad 1): the vectorized path (the flat
/// shift of ConvColumns.Flat.cs for this "same" convolution) against the general loop (baseline).
/// </summary>
public class Im2ColBenchmarks
{
    private readonly float[] _image = new float[32 * 14 * 14];
    private readonly float[] _col = new float[32 * 9 * 196];

    [Params(false, true)]
    public bool FastPath { get; set; }

    [Benchmark]
    public void Im2Col()
    {
        if (FastPath) ConvColumns.Im2Col(_image, 32, 14, 14, 3, 3, 1, 1, 1, 1, 1, 1, 14, 14, _col);
        else ConvColumns.Im2ColGeneral(_image, 32, 14, 14, 3, 3, 1, 1, 1, 1, 1, 1, 14, 14, _col);
    }

    [Benchmark]
    public void Col2Im()
    {
        if (FastPath) ConvColumns.Col2Im(_col, 32, 14, 14, 3, 3, 1, 1, 1, 1, 1, 1, 14, 14, _image, accumulate: false);
        else ConvColumns.Col2ImGeneral(_col, 32, 14, 14, 3, 3, 1, 1, 1, 1, 1, 1, 14, 14, _image, accumulate: false);
    }
}
