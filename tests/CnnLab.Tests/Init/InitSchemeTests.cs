using CnnLab.Init;
using CnnLab.Nn;
using CnnLab.Tensors;
using Xunit;
using CnnLab.Init.Networks;

namespace CnnLab.Tests;

public class InitSchemeTests
{
    [Theory]
    [InlineData("pytorch-default", "pytorch-default")]
    [InlineData("Kaiming-Normal", "kaiming-normal")]
    [InlineData(" auto ", "auto")]
    [InlineData("constant:0.5", "constant:0.5")]
    [InlineData("normal:1e-2", "normal:0.01")]
    [InlineData("uniform:0.1", "uniform:0.1")]
    [InlineData("orthogonal", "orthogonal")]
    [InlineData("lecun-normal", "lecun-normal")]
    public void ParsesNames(string text, string canonical) => Assert.Equal(canonical, InitScheme.Parse(text).Name);

    [Fact]
    public void EveryListedNameParses()
    {
        foreach (var name in InitScheme.ValidNames)
            InitScheme.Parse(name.Replace("<v>", "1").Replace("<std>", "0.1").Replace("<a>", "0.1"));
    }

    [Theory]
    [InlineData("he-normal")]
    [InlineData("normal")]
    [InlineData("constant:abc")]
    [InlineData("normal:-1")]
    public void UnknownOrBadNamesAreClearErrors(string text)
    {
        var ex = Assert.Throws<ArgumentException>(() => InitScheme.Parse(text));
        Assert.Contains(text, ex.Message);
        if (text.Contains(':')) return;
        foreach (var name in InitScheme.ValidNames) Assert.Contains(name, ex.Message);
    }

    private static Sequential MixedModel(Generator g) => new(
        new Linear(16, 32, generator: g), new ReLU(),                          // 0, 1
        new Linear(32, 32, generator: g), new BatchNorm1d(32), new LeakyReLU(0.2f), // 2, 3, 4
        new Linear(32, 32, generator: g), new Tanh(),                          // 5, 6
        new Linear(32, 32, generator: g), new Dropout(0.1f), new Sigmoid(),    // 7, 8, 9
        new Linear(32, 4, generator: g));                                      // 10

    [Fact]
    public void WeightLayersFindTheFollowingActivation()
    {
        var layers = WeightLayer.Find(MixedModel(new Generator(1)));
        Assert.Equal(["0", "2", "5", "7", "10"], layers.Select(l => l.Name));
        Assert.Equal(["ReLU", "LeakyReLU(0.2)", "Tanh", "Sigmoid", "none"], layers.Select(l => l.Activation?.ToString() ?? "none"));
        Assert.Equal(["1", "4", "6", "9", null], layers.Select(l => l.ActivationName));
    }

    [Fact]
    public void AutoFollowsTheNotesTable()
    {
        var g = new Generator(2);
        var model = MixedModel(g);
        var bn = (BatchNorm1d)model[3];
        bn.Weight!.Data.Fill(3f);
        bn.Bias!.Data.Fill(-1f);
        var report = InitScheme.Parse("auto").Apply(model, g);
        Assert.Equal(["0", "2", "3", "5", "7", "10"], report.Select(r => r.Layer));
        Assert.Equal(["kaiming-normal", "kaiming-normal(a=0.2)", "batchnorm", "xavier-normal(gain=5/3)", "xavier-normal", "xavier-normal"],
            report.Select(r => r.Scheme));
        Assert.Equal(Math.Sqrt(2), report[0].Gain, 12);
        Assert.Equal(Math.Sqrt(2 / (1 + 0.2 * 0.2)), report[1].Gain, 6);
        Assert.Equal(5.0 / 3, report[3].Gain, 12);
        Assert.Equal(1.0, report[4].Gain);
        Assert.Contains("output layer", report[5].Reason);
        Assert.All(bn.Weight.ToArray(), v => Assert.Equal(1f, v));
        Assert.All(bn.Bias.ToArray(), v => Assert.Equal(0f, v));
        foreach (var l in WeightLayer.Find(model)) Assert.All(l.Bias!.ToArray(), v => Assert.Equal(0f, v));
        // the tanh layer really got Xavier·5/3: std = 5/3·√(2/64)
        double std = Math.Sqrt(((Linear)model[5]).Weight.ToArray().Select(v => (double)v * v).Average());
        Assert.InRange(std / (5.0 / 3 * Math.Sqrt(2.0 / 64)), 0.85, 1.15);
    }

    [Fact]
    public void NamedSchemesZeroBiasesButPytorchDefaultKeepsThem()
    {
        var g = new Generator(3);
        var model = MixedModel(g);
        InitScheme.Parse("kaiming-normal").Apply(model, g);
        Assert.All(WeightLayer.Find(model), l => Assert.All(l.Bias!.ToArray(), v => Assert.Equal(0f, v)));
        var report = InitScheme.Parse("pytorch-default").Apply(model, g);
        Assert.Contains(WeightLayer.Find(model)[0].Bias!.ToArray(), v => v != 0);
        Assert.Equal(Math.Sqrt(1.0 / 3), report[0].Gain, 12);
        var w = WeightLayer.Find(model)[0].Weight.ToArray();
        Assert.All(w, v => Assert.InRange(v, -0.25f, 0.25f)); // U(±1/√16)
    }

    [Fact]
    public void SchemesReportGainsAndFill()
    {
        var g = new Generator(4);
        var model = MixedModel(g);
        var normal = InitScheme.Parse("normal:0.5").Apply(model, g);
        Assert.Equal(0.5 * 4, normal[0].Gain, 12); // std·√fan_in, fan_in 16
        InitScheme.Parse("constant:0.25").Apply(model, g);
        Assert.All(WeightLayer.Find(model), l => Assert.All(l.Weight.ToArray(), v => Assert.Equal(0.25f, v)));
        InitScheme.Parse("uniform:0.1").Apply(model, g);
        Assert.All(WeightLayer.Find(model), l => Assert.All(l.Weight.ToArray(), v => Assert.InRange(v, -0.1f, 0.1f)));
        InitScheme.Parse("orthogonal").Apply(model, g);
        var w = ((Linear)model[2]).Weight;
        double dot = 0;
        for (int j = 0; j < 32; j++) dot += w[0, j] * w[0, j];
        Assert.Equal(1.0, dot, 5);
    }

    [Fact]
    public void SameSeedSameModel()
    {
        var a = MixedModel(new Generator(0));
        var b = MixedModel(new Generator(0));
        InitScheme.Parse("auto").Apply(a, new Generator(9));
        InitScheme.Parse("auto").Apply(b, new Generator(9));
        foreach (var ((_, pa), (_, pb)) in a.NamedParameters().Zip(b.NamedParameters()))
            Assert.Equal(pa.ToArray(), pb.ToArray());
    }
}
