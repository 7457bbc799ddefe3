using System.Text.Json;
using CnnLab.Nn;
using CnnLab.Nn.Models;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

public class ModelZooTests
{
    private static JsonElement ZooFixture()
    {
        var path = Path.Combine(Fixtures.Root, "models", "zoo_state_dicts.json");
        return JsonDocument.Parse(File.ReadAllText(path)).RootElement.GetProperty("models").Clone();
    }

    public static TheoryData<string> FixtureModels()
    {
        var data = new TheoryData<string>();
        foreach (var p in ZooFixture().EnumerateObject()) data.Add(p.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(FixtureModels))]
    public void StateDictKeysAndShapesEqualPyTorch(string key)
    {
        var parts = key.Split('|');
        var options = parts.Length == 1 ? ModelOptions.Default
            : new ModelOptions(ModelOptions.ParsePool(parts[1]), ModelOptions.ParseReluOrder(parts[2]));
        var model = ModelZoo.Create(parts[0], new Generator(0), options);
        var expected = ZooFixture().GetProperty(key);
        var ours = model.StateDict().Select(kv => $"{kv.Key} {Shape.Format(kv.Value.Shape)}").ToList();
        var theirs = expected.GetProperty("state_dict").EnumerateArray()
            .Select(e => $"{e[0].GetString()} {Shape.Format(e[1].EnumerateArray().Select(d => d.GetInt32()).ToArray())}").ToList();
        Assert.Equal(theirs, ours);
        Assert.Equal(expected.GetProperty("parameters").GetInt64(), model.Parameters().Sum(p => (long)p.Numel));
    }

    [Fact]
    public void EveryCatalogModelRunsForwardOnABatch()
    {
        foreach (var name in new[] { "lenet5", "cnn-small", "cnn-bn", "mlp", "mlp-3-16-sigmoid", "plain-cnn-4", "resnet-mini" })
        {
            var model = ModelZoo.Create(name, new Generator(1));
            var y = model.Forward(Tensor.Randn(new Generator(2), 2, 1, 28, 28));
            Assert.Equal([2, 10], y.Shape);
        }
    }

    [Fact]
    public void SameSeedSameWeights()
    {
        var a = ModelZoo.Create("lenet5", new Generator(5)).StateDict();
        var b = ModelZoo.Create("lenet5", new Generator(5)).StateDict();
        var c = ModelZoo.Create("lenet5", new Generator(6)).StateDict();
        Assert.Equal(a["0.weight"].ToArray(), b["0.weight"].ToArray());
        Assert.NotEqual(a["0.weight"].ToArray(), c["0.weight"].ToArray());
    }

    [Fact]
    public void UnknownNamesListTheKnownOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => ModelZoo.Create("vgg16", new Generator(0)));
        Assert.Contains("cnn-small", e.Message);
        Assert.Throws<ArgumentException>(() => ModelZoo.Create("mlp-0-10-relu", new Generator(0)));
        Assert.Throws<ArgumentException>(() => ModelZoo.Create("mlp-2-10-swish", new Generator(0)));
        Assert.Throws<ArgumentException>(() => ModelOptions.ParsePool("min"));
    }

    [Fact]
    public void SummaryListsShapesAndCounts()
    {
        var summary = ModelSummary.Of(ModelZoo.Create("cnn-small", new Generator(0)), [1, 28, 28]);
        Assert.Equal(421_642, summary.TotalParameters);
        Assert.Equal([1, 32, 28, 28], summary.Layers[0].OutputShape);
        Assert.Equal([1, 64, 7, 7], summary.Layers.First(l => l.Name == "5").OutputShape);
        Assert.Contains("Total params: 421,642", summary.ToText());
    }
}
