using System.CommandLine;
using System.Text.Json;
using CnnLab.Cli.Commands;
using CnnLab.Init;
using CnnLab.Nn;
using CnnLab.Nn.Models;
using CnnLab.Tensors;
using Xunit;
using Xunit.Abstractions;
using CnnLab.Init.Networks;

namespace CnnLab.Tests;

public class InitDoctorTests(ITestOutputHelper output)
{
    private static (Sequential Model, DoctorReport Report) Diagnose30(string scheme)
    {
        var gen = new Generator(2024);
        var model = ModelZoo.Create("mlp-30-256-relu", gen); // Flatten, 30 x (Linear, ReLU), Linear(256, 10)
        InitScheme.Parse(scheme).Apply(model, gen);
        var x = Tensor.Randn(gen, 64, 1, 28, 28);
        var labels = Enumerable.Range(0, 64).Select(i => i % 10).ToArray();
        return (model, InitDoctor.Diagnose(model, x, labels));
    }

    [Fact]
    public void XavierHalvesTheVarianceOfA30LayerReluMlpAndIsFlagged()
    {
        var (_, report) = Diagnose30("xavier-normal");
        output.WriteLine(report.ToText());
        // rows 0..29: the hidden Linear layers "1", "3", ..., "59", each followed by ReLU; row 30: the output layer
        var first = report.Layers[0];
        var last = report.Layers[29];
        Assert.Equal(("1", "59", "ReLU"), (first.Name, last.Name, last.Activation));
        double measured = last.ActivationStd / first.ActivationStd;
        double predicted = Math.Pow(1 / Math.Sqrt(2), 29);
        output.WriteLine($"Xavier: measured ratio {measured:G4}, predicted (1/√2)^29 = {predicted:G4}, "
            + $"measured/predicted {measured / predicted:G4}");
        Assert.InRange(measured / predicted, 0.5, 2.0);
        // the doctor's own prediction agrees too
        Assert.InRange(last.PredictedStd / first.PredictedStd / predicted, 0.5, 2.0);
        Assert.Contains(report.Warnings, w => w.Message.Contains("Xavier") && w.Fix.Contains("kaiming-normal"));
    }

    [Fact]
    public void KaimingKeepsTheVarianceOfA30LayerReluMlpAndIsNotFlagged()
    {
        var (_, report) = Diagnose30("kaiming-normal");
        output.WriteLine(report.ToText());
        double ratio = report.Layers[29].ActivationStd / report.Layers[0].ActivationStd;
        output.WriteLine($"Kaiming: measured ratio {ratio:G4}");
        Assert.InRange(ratio, 0.5, 2.0);
        Assert.Empty(report.Warnings);
        foreach (var l in report.Layers.Take(30))
        {
            Assert.Equal(Math.Sqrt(2), l.Gain, 1);                       // effective gain √fan_in·std(W) ≈ √2
            Assert.InRange(l.ActivationStd / l.PredictedStd, 0.7, 1.4);  // prediction next to measurement
            Assert.InRange(l.DeadFraction!.Value, 0, 0.5); // grows with depth: deep ReLU nets make examples correlated
            Assert.True(l.GradStd > 0);
        }
    }

    private static Sequential Mlp(int inFeatures, int width, int depth, Func<Module> activation, Generator g)
    {
        var s = new Sequential();
        for (int i = 0; i < depth; i++) s.Add(new Linear(i == 0 ? inFeatures : width, width, generator: g)).Add(activation());
        return s.Add(new Linear(width, 10, generator: g));
    }

    [Fact]
    public void NaiveStdVanishesWithFactorAndDepth()
    {
        var (_, report) = Diagnose30("normal:0.01");
        var w = Assert.Single(report.Warnings, w => w.Message.Contains("shrinks by a factor"));
        // predicted factor per layer: 0.01·√256·√(1/2) = 0.113 → below 1e-3 after ⌈ln 1e-3 / ln 0.113⌉ = 4 layers
        Assert.Contains("after 4 layers", w.Message);
        Assert.Contains("kaiming", w.Fix);
    }

    [Theory]
    [InlineData("zeros", "equal 0")]
    [InlineData("constant:0.05", "equal 0.05")]
    public void ZeroAndConstantWeightsAreFlaggedForSymmetry(string scheme, string text)
    {
        var gen = new Generator(1);
        var model = Mlp(20, 64, 3, () => new Tanh(), gen);
        InitScheme.Parse(scheme).Apply(model, gen);
        var report = InitDoctor.Diagnose(model, Tensor.Randn(gen, 16, 20));
        Assert.Equal(4, report.Warnings.Count(w => w.Message.Contains(text) && w.Message.Contains("symmetry")));
        Assert.All(report.Warnings.Where(w => w.Message.Contains("symmetry")), w => Assert.Contains("random init", w.Fix));
    }

    [Fact]
    public void BatchNormIsNoted()
    {
        var gen = new Generator(3);
        var model = new Sequential(new Linear(20, 64, generator: gen), new BatchNorm1d(64), new ReLU(), new Linear(64, 10, generator: gen));
        var bn = (BatchNorm1d)model[1];
        var runningMean = bn.RunningMean!.ToArray();
        var report = InitDoctor.Diagnose(model, Tensor.Randn(gen, 32, 20));
        var w = Assert.Single(report.Warnings, w => w.Message.Contains("BatchNorm"));
        Assert.Equal("1", w.Layer);
        Assert.Contains("matters much less", w.Message);
        // BatchNorm resets the predicted moments to (β, γ²): std 1 before the ReLU → ReLU of N(0,1)
        Assert.Equal(Math.Sqrt(0.5 - 1 / (2 * Math.PI)), report.Layers[0].PredictedStd, 3);
        Assert.Equal(runningMean, bn.RunningMean!.ToArray()); // the doctor leaves the running stats alone
        Assert.All(model.Parameters(), p => Assert.Null(p.Grad));
    }

    [Fact]
    public void JsonHasTheDocumentedShape()
    {
        var gen = new Generator(4);
        var model = Mlp(8, 32, 2, () => new ReLU(), gen);
        var report = InitDoctor.Diagnose(model, Tensor.Randn(gen, 16, 8));
        using var doc = JsonDocument.Parse(report.ToJson());
        var layers = doc.RootElement.GetProperty("layers");
        Assert.Equal(3, layers.GetArrayLength());
        foreach (var key in new[]
            { "name", "fan_in", "fan_out", "gain", "weight_std", "predicted_std", "activation_std", "grad_std", "dead_fraction" })
            Assert.True(layers[0].TryGetProperty(key, out _), key);
        Assert.Equal(8, layers[0].GetProperty("fan_in").GetInt32());
        Assert.Equal(32, layers[0].GetProperty("fan_out").GetInt32());
        Assert.Equal(JsonValueKind.Null, layers[2].GetProperty("dead_fraction").ValueKind); // output layer: no ReLU
        Assert.Equal(JsonValueKind.Array, doc.RootElement.GetProperty("warnings").ValueKind);
        // PyTorch default init on ReLU: gain 1/√3, so the doctor reports the shrinking signal in text too
        Assert.Contains("fan_in", report.ToText());
    }

    private static (int Code, string Out, string Err) RunCli(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var root = new RootCommand { DoctorCommand.Create(stdout, stderr) };
        int code = root.Parse(args).Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void CliPrintsJsonForAnMlp()
    {
        var (code, stdout, stderr) = RunCli("doctor", "--model", "mlp-6-64-relu", "--init", "xavier-normal", "--json", "--seed", "5",
            "--batch", "32");
        Assert.Equal("", stderr);
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal(7, doc.RootElement.GetProperty("layers").GetArrayLength());
        Assert.Contains(doc.RootElement.GetProperty("warnings").EnumerateArray(), w => w.GetProperty("message").GetString()!.Contains("Xavier"));
        // same seed, same report
        Assert.Equal(stdout, RunCli("doctor", "--model", "mlp-6-64-relu", "--init", "xavier-normal", "--json", "--seed", "5", "--batch", "32").Out);
    }

    [Fact]
    public void CliPrintsTableAndRejectsUnknownNames()
    {
        var (code, stdout, _) = RunCli("doctor", "--model", "mlp-3-32-tanh", "--init", "auto");
        Assert.Equal(0, code);
        Assert.Contains("xavier-normal(gain=5/3)", stdout);
        Assert.Contains("pred_std", stdout);
        var bad = RunCli("doctor", "--model", "mlp-3-32-tanh", "--init", "he");
        Assert.Equal(2, bad.Code);
        Assert.Contains("kaiming-normal", bad.Err);
        var badModel = RunCli("doctor", "--model", "resnet", "--init", "auto");
        Assert.Equal(2, badModel.Code);
        Assert.Contains("unknown model 'resnet'", badModel.Err);
    }

    [Theory]
    [InlineData("cnn-bn", "BatchNorm")]
    [InlineData("plain-cnn-12", "shrinks by a factor")] // PyTorch's default init (gain 1/√3) on 12 plain conv+ReLU layers
    public void CliDiagnosesZooCnns(string name, string warning)
    {
        var (code, stdout, stderr) = RunCli("doctor", "--model", name, "--json", "--batch", "8");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Contains(doc.RootElement.GetProperty("warnings").EnumerateArray(), w => w.GetProperty("message").GetString()!.Contains(warning));
    }
}
