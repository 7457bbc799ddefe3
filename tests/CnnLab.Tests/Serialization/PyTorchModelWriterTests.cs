using System.Text.Json;
using CnnLab.Nn;
using CnnLab.Nn.Models;
using CnnLab.Serialization;
using CnnLab.Serialization.PyTorch;
using CnnLab.Tensors;
using CnnLab.Training;
using CnnLab.Training.PyTorch;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// model.py of <c>cnnlab export pytorch</c>, run by PyTorch: every zoo model (and its pooling variants) and a spec with every
/// layer type loads CnnLab's weights with strict=True under the same keys and computes CnnLab's outputs.
/// </summary>
public class PyTorchModelWriterTests
{
    // Every layer type of ModelSpec, with the arguments that change the math set away from their defaults.
    private const string AllLayers = """
        { "name": "all-layers", "input": [1, 28, 28], "layers": [
          { "type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1 },
          { "type": "batchnorm2d", "eps": 0.001, "momentum": 0.2 }, { "type": "leaky_relu", "negative_slope": 0.1 },
          { "type": "conv2d", "out_channels": 8, "kernel_size": 3, "stride": 2, "dilation": 2, "groups": 2, "bias": false },
          { "type": "elu", "alpha": 0.5 }, { "type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": true },
          { "type": "gelu" }, { "type": "avgpool2d", "kernel_size": 2, "stride": 1, "padding": 1, "count_include_pad": false },
          { "type": "sigmoid" }, { "type": "adaptive_avgpool2d", "output_size": 3 }, { "type": "identity" },
          { "type": "flatten" }, { "type": "linear", "out_features": 16 }, { "type": "batchnorm1d" }, { "type": "tanh" },
          { "type": "dropout", "p": 0.3 }, { "type": "relu" }, { "type": "linear", "out_features": 10, "bias": false } ] }
        """;

    [Fact]
    public void EveryZooModelAndEverySpecLayerComputesTheSameInPyTorch()
    {
        TorchProcess.Require();
        var root = TinyData.TempDir("pytorch-models");
        var cases = new List<(string Name, Sequential Model, int[] Input)>();
        foreach (var name in new[] { "lenet5", "cnn-small", "cnn-bn", "mlp", "mlp-2-32-tanh", "mlp-1-16-leaky-relu", "mlp-1-8-sigmoid",
                     "plain-cnn-4", "resnet-mini" })
            cases.Add((name, ModelZoo.Create(name, new Generator(7)), [1, 28, 28]));
        var avgAfter = new ModelOptions(PoolKind.Avg, ReluOrder.AfterPool);
        cases.Add(("lenet5-avg-after-pool", ModelZoo.Create("lenet5", new Generator(7), avgAfter), [1, 28, 28]));
        cases.Add(("cnn-bn-strided", ModelZoo.Create("cnn-bn", new Generator(7), new ModelOptions(PoolKind.StridedConv)), [1, 28, 28]));
        var (spec, input, _) = ModelSpec.Parse(AllLayers, "all-layers.json", new Generator(3));
        cases.Add(("all-layers", spec, input));

        File.WriteAllText(Path.Combine(root, "safetensors_io.py"), PyTorchProject.Template("safetensors_io.py"));
        var g = new Generator(11);
        for (int i = 0; i < cases.Count; i++)
        {
            var (name, model, shape) = cases[i];
            var dir = Directory.CreateDirectory(Path.Combine(root, $"case{i:00}")).FullName;
            File.WriteAllText(Path.Combine(dir, "model.py"), PyTorchModelWriter.Write(model, shape, name, 10));
            using (Autograd.NoGrad())
            {
                // Two training-mode passes give BatchNorm running statistics that are not its initial 0 and 1.
                model.Forward(Tensor.Randn(g, [4, .. shape]));
                model.Forward(Tensor.Randn(g, [4, .. shape]));
                model.Eval();
                var x = Tensor.Randn(g, [3, .. shape]);
                var y = model.Forward(x);
                Checkpoint.SaveWeights(Path.Combine(dir, "weights.safetensors"), model);
                SafeTensors.Save(Path.Combine(dir, "io.safetensors"), new Dictionary<string, Tensor> { ["x"] = x, ["y"] = y });
            }
        }
        var script = Path.Combine(root, "check.py");
        File.WriteAllText(script, """
            import importlib.util, json, os, sys
            import torch
            from safetensors_io import load_file
            results = {}
            for d in sorted(x for x in os.listdir(".") if x.startswith("case")):
                spec = importlib.util.spec_from_file_location("model_" + d, os.path.join(d, "model.py"))
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                model = module.Model()
                weights, _ = load_file(os.path.join(d, "weights.safetensors"))
                same_keys = sorted(model.state_dict()) == sorted(weights)
                model.load_state_dict(weights, strict=True)
                model.eval()
                io, _ = load_file(os.path.join(d, "io.safetensors"))
                with torch.no_grad():
                    y = model(io["x"])
                results[d] = {"keys": same_keys, "diff": (y - io["y"]).abs().max().item(), "scale": io["y"].abs().max().item()}
            print("RESULTS " + json.dumps(results))
            """);
        var (code, output) = TorchProcess.Run(TorchProcess.Python, [script], root, 300);
        Assert.True(code == 0, output);
        var line = output.Split('\n').Single(l => l.StartsWith("RESULTS ", StringComparison.Ordinal));
        using var results = JsonDocument.Parse(line["RESULTS ".Length..]);
        for (int i = 0; i < cases.Count; i++)
        {
            var r = results.RootElement.GetProperty($"case{i:00}");
            Assert.True(r.GetProperty("keys").GetBoolean(), $"{cases[i].Name}: state_dict keys differ");
            double diff = r.GetProperty("diff").GetDouble(), scale = r.GetProperty("scale").GetDouble();
            Assert.True(diff <= 1e-5 * Math.Max(1, scale), $"{cases[i].Name}: PyTorch's output differs from CnnLab's by {diff} (scale {scale})");
        }
    }

    private sealed class Square : Module
    {
        protected override Tensor ForwardCore(Tensor input) => input * input;
    }

    [Fact]
    public void AModuleWithNoPyTorchCounterpartIsRefusedNamingTheLayer()
    {
        var model = new Sequential(new Flatten(), new Sequential(new Linear(4, 4), new Square()));
        var e = Assert.Throws<ArgumentException>(() => PyTorchModelWriter.Write(model, [4], "custom", 4));
        Assert.Contains("layer '1.1' is a Square", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1e-5f, "1e-05")]
    [InlineData(0.01f, "0.01")]
    [InlineData(1f, "1.0")]
    [InlineData(2.5e20f, "2.5e+20")]
    public void FloatsAreWrittenAsPythonReadsThemBack(float value, string text) => Assert.Equal(text, PythonLiteral.Of(value));
}
