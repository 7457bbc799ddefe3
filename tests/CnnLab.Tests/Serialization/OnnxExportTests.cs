using CnnLab.Nn;
using CnnLab.Nn.Models;
using CnnLab.Optim;
using CnnLab.Serialization.Onnx;
using CnnLab.Tensors;
using CnnLab.Training;
using Microsoft.ML.OnnxRuntime;
using Xunit;
using Xunit.Abstractions;
using OrtTensors = Microsoft.ML.OnnxRuntime.Tensors;

namespace CnnLab.Tests;

/// <summary>Every zoo model, exported to ONNX, runs in ONNX Runtime and gives CnnLab's outputs.</summary>
[Collection("cli")]
public class OnnxExportTests(ITestOutputHelper output)
{
    private const double Rtol = 1e-3, Atol = 1e-5;

    /// <summary>Seeded non-trivial BatchNorm state, so that the inference form is really exercised.</summary>
    private static void RandomizeBatchNorm(Module model, Generator g)
    {
        foreach (var (_, m) in model.NamedModules())
        {
            if (m is not BatchNorm bn) continue;
            g.FillUniform(bn.RunningMean!.Data, -0.3f, 0.3f);
            g.FillUniform(bn.RunningVar!.Data, 0.5f, 2f);
            if (bn.Weight is not null) g.FillUniform(bn.Weight.Data, 0.8f, 1.2f);
            if (bn.Bias is not null) g.FillUniform(bn.Bias.Data, -0.1f, 0.1f);
        }
    }

    internal static float[] RunOrt(byte[] onnx, Tensor input, string outputName)
    {
        using var session = new InferenceSession(onnx);
        var x = new OrtTensors.DenseTensor<float>(input.ToArray(), input.Shape);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(OnnxExporter.InputName, x)]);
        var y = results.Single();
        Assert.Equal(outputName, y.Name);
        return y.AsTensor<float>().ToArray();
    }

    private static byte[] Export(Module model, int[] inputShape, bool softmax = false)
    {
        using var ms = new MemoryStream();
        OnnxExporter.Export(model, inputShape, ms, softmax);
        return ms.ToArray();
    }

    /// <summary>Exports, runs batches of 1 and 3 through ONNX Runtime and compares with CnnLab (rtol 1e-3, atol 1e-5, same argmax).</summary>
    private double CheckAgainstOrt(string what, Module model, int[] inputShape, bool softmax = false)
    {
        var onnx = Export(model, inputShape, softmax);
        model.Eval();
        double worst = 0;
        var g = new Generator(99);
        foreach (int batch in new[] { 1, 3 })
        {
            var x = Tensor.Randn(g, [batch, .. inputShape]);
            Tensor expected;
            using (Autograd.NoGrad())
            {
                expected = model.Forward(x);
                if (softmax) expected = Functional.Softmax(expected, 1);
            }
            var actual = Tensor.FromArray(RunOrt(onnx, x, softmax ? "probabilities" : "logits"), expected.Shape);
            Fixtures.AssertClose(expected, actual, Rtol, Atol, $"{what} batch {batch}");
            for (int n = 0; n < batch; n++)
                Assert.Equal(ArgMax(expected[n].ToArray()), ArgMax(actual[n].ToArray()));
            worst = Math.Max(worst, expected.ToArray().Zip(actual.ToArray(), (a, b) => (double)Math.Abs(a - b)).Max());
        }
        output.WriteLine($"{what}: max |CnnLab - ORT| = {worst:E2}");
        return worst;
    }

    private static int ArgMax(float[] v) => Array.IndexOf(v, v.Max());

    [Theory]
    [InlineData("lenet5")]
    [InlineData("cnn-small")]
    [InlineData("cnn-bn")]
    [InlineData("mlp")]
    [InlineData("plain-cnn-5")]
    [InlineData("resnet-mini")]
    [InlineData("mlp-2-32-tanh")]
    [InlineData("mlp-2-32-sigmoid")]
    [InlineData("mlp-2-32-leaky-relu")]
    public void ZooModelMatchesOnnxRuntime(string name)
    {
        var g = new Generator(5);
        var model = ModelZoo.Create(name, g);
        RandomizeBatchNorm(model, g);
        CheckAgainstOrt(name, model, [1, 28, 28]);
    }

    [Theory]
    [InlineData(PoolKind.Avg)]
    [InlineData(PoolKind.StridedConv)]
    public void PoolVariantsMatchOnnxRuntime(PoolKind pool)
    {
        var model = ModelZoo.Create("cnn-small", new Generator(6), new ModelOptions(pool, ReluOrder.AfterPool));
        CheckAgainstOrt($"cnn-small {pool}", model, [1, 28, 28]);
    }

    [Fact]
    public void PaddedPoolsCeilModeBiaslessConvDropoutEluAndSoftmaxMatchOnnxRuntime()
    {
        var g = new Generator(8);
        var model = new Sequential(
            new Conv2d(1, 4, 3, stride: 2, padding: 1, bias: false, generator: g),   // 28 → 14
            new BatchNorm2d(4),
            new LeakyReLU(0.2f),
            new AvgPool2d(3, stride: 2, padding: 1, countIncludePad: false),        // 14 → 7
            new MaxPool2d(2, ceilMode: true),                                        // 7 → 4 (ceil)
            new ELU(0.7f),
            new Dropout(0.5f, g),
            new Flatten(),
            new Linear(64, 16, generator: g),
            new BatchNorm1d(16),
            new Sigmoid(),
            new Identity(),
            new Linear(16, 10, generator: g));
        RandomizeBatchNorm(model, g);
        CheckAgainstOrt("custom", model, [1, 28, 28]);
        CheckAgainstOrt("custom + softmax", model, [1, 28, 28], softmax: true);
    }

    [Fact]
    public void GraphIsOpset17WithDynamicBatchAndNoDropout()
    {
        var model = new Sequential(new Flatten(), new Dropout(0.3f), new Linear(4, 2, generator: new Generator(1)));
        var m = OnnxExporter.Build(model, [1, 2, 2], softmax: true);
        Assert.Equal(17, m.OpsetImport.Single().Version);
        Assert.Equal(8, m.IrVersion);
        Assert.Equal("N", m.Graph.Input[0].Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal("N", m.Graph.Output[0].Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal(2, m.Graph.Output[0].Type.TensorType.Shape.Dim[1].DimValue);
        Assert.Equal(["Flatten", "Gemm", "Softmax"], m.Graph.Node.Select(n => n.OpType));
        Assert.Equal(["2.weight", "2.bias"], m.Graph.Initializer.Select(t => t.Name));   // state_dict names
        Assert.True(model.Training);   // export left the mode as it was
    }

    [Fact]
    public void A_spec_with_every_layer_type_the_spec_accepts_matches_onnx_runtime()
    {
        const string json = """
            { "name": "every-layer", "input": [3, 13, 11],
              "layers": [
                {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1, "dilation": 1, "groups": 1, "bias": false},
                {"type": "batchnorm2d"}, {"type": "elu", "alpha": 0.7},
                {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 2, "dilation": 2, "groups": 4},
                {"type": "leaky_relu", "negative_slope": 0.2},
                {"type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": true},
                {"type": "avgpool2d", "kernel_size": 2, "stride": 1, "padding": 1, "count_include_pad": false},
                {"type": "gelu"}, {"type": "adaptive_avgpool2d", "output_size": 3},
                {"type": "flatten", "start_dim": 2, "end_dim": 3}, {"type": "batchnorm1d"},
                {"type": "sigmoid"}, {"type": "dropout", "p": 0.3}, {"type": "identity"},
                {"type": "flatten"}, {"type": "linear", "out_features": 6}, {"type": "tanh"}, {"type": "relu"},
                {"type": "linear", "out_features": 3}
              ] }
            """;
        var (model, input, name) = ModelSpec.Parse(json, "every-layer.json", new Generator(16));
        RandomizeBatchNorm(model, new Generator(17));
        CheckAgainstOrt(name, model, input);
    }

    private sealed class Doubler : Module
    {
        protected override Tensor ForwardCore(Tensor input) => Functional.Add(input, input);
    }

    [Fact]
    public void UnsupportedLayersAreNamed()
    {
        var model = new Sequential(new Flatten(), new Doubler(), new Linear(50, 2, generator: new Generator(1)));
        var e = Assert.Throws<ArgumentException>(() => OnnxExporter.Build(model, [2, 5, 5]));
        Assert.Contains("layer '1' (Doubler) has no ONNX mapping", e.Message);
        var batchAxis = Assert.Throws<ArgumentException>(() => OnnxExporter.Build(new Sequential(new Flatten(0, -1)), [2, 5, 5]));
        Assert.Contains("merges the batch axis", batchAxis.Message);
    }

    [Fact]
    public void OverlappingAdaptiveCellsFlattenOfInnerAxesAndLinearOverTheLastAxisMatchOnnxRuntime()
    {
        // 5x7 pooled to 2x3: cells overlap and differ in size (a MatMul by the cells' weights); Flatten(2, 3) keeps the channel
        // axis; Linear then runs on [N, C, features] (MatMul + Add, as Gemm takes two-dimensional inputs only).
        var g = new Generator(15);
        var model = new Sequential(new Conv2d(2, 4, 3, padding: 1, generator: g), new AdaptiveAvgPool2d((2, 3)), new Flatten(2, 3),
            new Linear(6, 5, generator: g), new Tanh(), new Linear(5, 3, bias: false, generator: g), new Flatten());
        CheckAgainstOrt("adaptive 5x7 → 2x3, flatten(2, 3), linear on rank 3", model, [2, 5, 7]);
        var ops = OnnxExporter.Build(model, [2, 5, 7]).Graph.Node.Select(n => n.OpType).ToArray();
        Assert.Equal(["Conv", "Reshape", "MatMul", "Reshape", "Reshape", "MatMul", "Add", "Tanh", "MatMul", "Flatten"], ops);
    }

    [Fact]
    public void GeluAndAdaptivePoolingToADividingSizeMatchOnnxRuntime()
    {
        var g = new Generator(12);
        var model = new Sequential(new Conv2d(3, 4, 3, padding: 1, generator: g), new GELU(), new AdaptiveAvgPool2d((2, 3)),
            new Flatten(), new Linear(24, 5, generator: g));
        CheckAgainstOrt("gelu + adaptive", model, [3, 8, 9]);
        var ops = OnnxExporter.Build(model, [3, 8, 9]).Graph.Node.Select(n => n.OpType).ToArray();
        Assert.Equal(["Conv", "Div", "Erf", "Add", "Mul", "Mul", "AveragePool", "Flatten", "Gemm"], ops);
    }

    public static TheoryData<string> BenchModels() => new(
        Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "BenchModels"), "*.json").Select(Path.GetFileName).Order()!);

    [Theory]
    [MemberData(nameof(BenchModels))]
    public void EveryBenchModelSpecMatchesOnnxRuntime(string file)
    {
        var (model, input, name) = ModelSpec.Load(Path.Combine(AppContext.BaseDirectory, "BenchModels", file), new Generator(13));
        RandomizeBatchNorm(model, new Generator(14));
        CheckAgainstOrt(name, model, input);
    }

    [Fact]
    public void CliExportsACheckpointThatOnnxRuntimeRuns()
    {
        var dir = TinyData.TempDir("onnx-ckpt");
        var model = ModelZoo.Create("cnn-bn", new Generator(3));
        RandomizeBatchNorm(model, new Generator(4));
        Checkpoint.Save(dir, model, new AdamW(model.Parameters()), new TrainingConfig { Model = "cnn-bn" },
            new TrainingState(1, 0, 1, new Generator(1).GetState()));
        var path = Path.Combine(dir, "model.onnx");
        var r = Cli.Run("export", "onnx", "--checkpoint", dir, "--out", path, "--softmax");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("output 'probabilities', opset 17", r.Stdout);
        var x = Tensor.Randn(new Generator(2), 2, 1, 28, 28);
        var probs = RunOrt(File.ReadAllBytes(path), x, "probabilities");
        model.Eval();
        using var _ = Autograd.NoGrad();
        Fixtures.AssertClose(Functional.Softmax(model.Forward(x), 1), Tensor.FromArray(probs, 2, 10), Rtol, Atol, "cli export");
    }

    [Fact]
    public void CliExportErrorsGiveExitCode2()
    {
        var dir = TinyData.TempDir("onnx-bad");
        SafeTensorsStrictTests.AssertOneLineError(
            Cli.Run("export", "onnx", "--checkpoint", dir, "--out", Path.Combine(dir, "no", "such", "m.onnx")), "folder");
        SafeTensorsStrictTests.AssertOneLineError(
            Cli.Run("export", "onnx", "--checkpoint", Path.Combine(dir, "missing"), "--out", Path.Combine(dir, "m.onnx")),
            "checkpoint folder does not exist");
        SafeTensorsStrictTests.AssertOneLineError(
            Cli.Run("export", "onnx", "--out", Path.Combine(dir, "m.onnx")), "give --checkpoint DIR");
        var bad = Path.Combine(dir, "bad.safetensors");
        File.WriteAllBytes(bad, MalformedSafeTensors.All()[0].Bytes);
        SafeTensorsStrictTests.AssertOneLineError(
            Cli.Run("export", "onnx", "--model", "lenet5", "--weights", bad, "--out", Path.Combine(dir, "m.onnx")),
            "bad.safetensors: file is 0 bytes");
        Assert.Equal(2, Cli.Run("export", "onnx", "--checkpoint", dir, "--out", "x.onnx", "--opset", "9").ExitCode);
    }
}
