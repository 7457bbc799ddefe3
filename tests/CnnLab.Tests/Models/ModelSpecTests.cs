using CnnLab.Nn;
using CnnLab.Nn.Models;
using CnnLab.Tensors;
using Xunit;
using CnnLab.IO;

namespace CnnLab.Tests;

public class ModelSpecTests
{
    private const string Good = """
        { "name": "tiny", "input": [1, 28, 28], "layers": [
          { "type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1 },
          { "type": "batchnorm2d" }, { "type": "relu" }, { "type": "maxpool2d", "kernel_size": 2 },
          { "type": "flatten" }, { "type": "dropout", "p": 0.1 }, { "type": "linear", "out_features": 10 } ] }
        """;

    [Fact]
    public void BuildsAndInfersInputSizes()
    {
        var (model, input, name) = ModelSpec.Parse(Good, "tiny.json", new Generator(0));
        Assert.Equal("tiny", name);
        Assert.Equal([1, 28, 28], input);
        Assert.Equal([8, 1, 3, 3], model.StateDict()["0.weight"].Shape);
        Assert.Equal([10, 8 * 14 * 14], model.StateDict()["6.weight"].Shape);
        Assert.Equal([3, 10], model.Forward(Tensor.Zeros(3, 1, 28, 28)).Shape);
    }

    [Fact]
    public void ASpecFileWithAByteOrderMarkLoads()
    {
        var path = Path.Combine(TinyData.TempDir("bom"), "tiny.json");
        File.WriteAllText(path, Good, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
        Assert.Equal(0xEF, File.ReadAllBytes(path)[0]);
        Assert.Equal("tiny", ModelSpec.Load(path, new Generator(0)).Name);
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("[]", "must be a JSON object")]
    [InlineData("{}", "missing field 'layers'")]
    [InlineData("{\"layers\": []}", "'layers' is empty")]
    [InlineData("{\"layers\": [{}]}", "layer 0: missing field 'type'")]
    [InlineData("{\"layers\": [{\"type\": \"conv3d\"}]}", "layer 0: field 'type' is 'conv3d'")]
    [InlineData("{\"layers\": [{\"type\": \"conv2d\", \"kernel_size\": 3}]}", "layer 0 (conv2d): missing field 'out_channels'")]
    [InlineData("{\"layers\": [{\"type\": \"conv2d\", \"out_channels\": \"8\", \"kernel_size\": 3}]}", "field 'out_channels' must be an integer")]
    [InlineData("{\"layers\": [{\"type\": \"relu\", \"inplace\": true}]}", "layer 0 (relu): unknown field 'inplace'")]
    [InlineData("{\"layers\": [{\"type\": \"flatten\"}, {\"type\": \"relu\"}, {\"type\": \"conv2d\", \"out_channels\": 2, \"kernel_size\": 3}]}",
        "layer 2 (conv2d): needs a 4-D input")]
    [InlineData("{\"layers\": [{\"type\": \"linear\", \"out_features\": 3}]}", "layer 0 (linear): needs a 2-D input")]
    [InlineData("{\"layers\": [{\"type\": \"conv2d\", \"in_channels\": 3, \"out_channels\": 2, \"kernel_size\": 3}]}",
        "'in_channels' is 3 but the input has 1 channels")]
    [InlineData("{\"layers\": [{\"type\": \"conv2d\", \"out_channels\": 2, \"kernel_size\": 40}]}", "layer 0 (conv2d) cannot take input")]
    [InlineData("{\"layers\": [{\"type\": \"conv2d\", \"out_channels\": -2, \"kernel_size\": 3}]}", "layer 0 (conv2d)")]
    [InlineData("{\"input\": [1, 0, 28], \"layers\": [{\"type\": \"relu\"}]}", "'input' must hold integers")]
    [InlineData("{\"layers\": [{\"type\": \"relu\"}], \"optimizer\": \"adam\"}", "unknown top-level field 'optimizer'")]
    public void ErrorsNameTheLayerAndField(string json, string expected)
    {
        var e = Assert.Throws<InvalidFileException>(() => ModelSpec.Parse(json, "net.json", new Generator(0)));
        Assert.Contains(expected, e.Message);
        Assert.StartsWith("net.json: ", e.Message);
    }
}
