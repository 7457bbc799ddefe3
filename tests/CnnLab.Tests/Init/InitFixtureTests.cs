using System.Text.Json;
using CnnLab.Init;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>Fans, gains and every initializer's bound/std against the numbers PyTorch 1.13 itself passes to uniform_/normal_.</summary>
public class InitFixtureTests
{
    private const string Script = "tools/reference/make_init_fixtures.py";
    // Both sides compute in double with the same operations; 1e-12 leaves room for libm differences.
    private const double Rtol = 1e-12;

    private static JsonElement Config() => Fixtures.Config(Fixtures.Load("init", "init_formulas"));

    private static void Close(double expected, double actual, string what) =>
        Assert.True(Math.Abs(actual - expected) <= Rtol * Math.Abs(expected),
            $"{what}: CnnLab {actual:R}, PyTorch {expected:R}; if PyTorch's numbers changed, re-run {Script}");

    private static int[] ShapeOf(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();

    private static Nonlinearity ParseNonlinearity(string name) => name switch
    {
        "linear" => Nonlinearity.Linear, "conv1d" => Nonlinearity.Conv1d, "conv2d" => Nonlinearity.Conv2d,
        "conv3d" => Nonlinearity.Conv3d, "conv_transpose1d" => Nonlinearity.ConvTranspose1d,
        "conv_transpose2d" => Nonlinearity.ConvTranspose2d, "conv_transpose3d" => Nonlinearity.ConvTranspose3d,
        "sigmoid" => Nonlinearity.Sigmoid, "tanh" => Nonlinearity.Tanh, "relu" => Nonlinearity.Relu,
        "leaky_relu" => Nonlinearity.LeakyRelu, "selu" => Nonlinearity.Selu,
        _ => throw new ArgumentException(name),
    };

    [Fact]
    public void FansMatchPyTorch()
    {
        foreach (var c in Config().GetProperty("shapes").EnumerateArray())
        {
            var (fanIn, fanOut) = Fan.Compute(ShapeOf(c.GetProperty("shape")));
            string name = c.GetProperty("name").GetString()!;
            Assert.True(c.GetProperty("fan_in").GetInt32() == fanIn, $"{name} fan_in {fanIn}");
            Assert.True(c.GetProperty("fan_out").GetInt32() == fanOut, $"{name} fan_out {fanOut}");
        }
    }

    [Fact]
    public void FanOfVectorIsAnError()
    {
        var ex = Assert.Throws<ArgumentException>(() => Fan.Compute([5]));
        Assert.Contains("fewer than 2 dimensions", ex.Message);
        Assert.Throws<ArgumentException>(() => Initializers.XavierUniform(new Tensor(5)));
        Assert.Throws<ArgumentException>(() => Initializers.KaimingNormal(new Tensor(5)));
    }

    [Fact]
    public void GainsMatchPyTorch()
    {
        foreach (var g in Config().GetProperty("gains").EnumerateArray())
        {
            var nl = ParseNonlinearity(g.GetProperty("nonlinearity").GetString()!);
            double? param = g.GetProperty("param").ValueKind == JsonValueKind.Null ? null : g.GetProperty("param").GetDouble();
            Close(g.GetProperty("gain").GetDouble(), Initializers.CalculateGain(nl, param), $"gain {nl}({param})");
        }
    }

    [Fact]
    public void GainTableValues()
    {
        Assert.Equal(1.0, Initializers.CalculateGain(Nonlinearity.Sigmoid));
        Assert.Equal(5.0 / 3, Initializers.CalculateGain(Nonlinearity.Tanh));
        Assert.Equal(Math.Sqrt(2), Initializers.CalculateGain(Nonlinearity.Relu));
        Assert.Equal(Math.Sqrt(2 / (1 + 0.01 * 0.01)), Initializers.CalculateGain(Nonlinearity.LeakyRelu)); // default slope 0.01
        Assert.Equal(0.75, Initializers.CalculateGain(Nonlinearity.Selu));
    }

    [Fact]
    public void ScaleInitializersMatchPyTorch()
    {
        int checkedCalls = 0;
        foreach (var c in Config().GetProperty("shapes").EnumerateArray())
        {
            var shape = ShapeOf(c.GetProperty("shape"));
            string name = c.GetProperty("name").GetString()!;
            foreach (var init in c.GetProperty("inits").EnumerateArray())
            {
                string kind = init.GetProperty("init").GetString()!;
                var kw = init.GetProperty("kwargs");
                double gain = kw.TryGetProperty("gain", out var gEl) ? gEl.GetDouble() : 1.0;
                double a = kw.TryGetProperty("a", out var aEl) ? aEl.GetDouble() : 0.0;
                var mode = kw.TryGetProperty("mode", out var mEl) && mEl.GetString() == "fan_out" ? FanMode.FanOut : FanMode.FanIn;
                var nl = kw.TryGetProperty("nonlinearity", out var nEl) ? ParseNonlinearity(nEl.GetString()!) : Nonlinearity.LeakyRelu;
                double mine = kind switch
                {
                    "xavier_uniform" => Math.Sqrt(3.0) * Initializers.XavierStd(shape, gain),
                    "xavier_normal" => Initializers.XavierStd(shape, gain),
                    "kaiming_uniform" => Math.Sqrt(3.0) * Initializers.KaimingStd(shape, a, mode, nl),
                    "kaiming_normal" => Initializers.KaimingStd(shape, a, mode, nl),
                    _ => throw new InvalidOperationException(kind),
                };
                var call = init.GetProperty("call");
                Close(call[2].GetDouble(), mine, $"{name} {kind}({kw})");
                if (kind == "kaiming_normal" && nl == Nonlinearity.Linear)
                    Close(call[2].GetDouble(), Initializers.LeCunStd(shape), $"{name} LeCun std = kaiming_normal(linear)");
                checkedCalls++;
            }
            Close(c.GetProperty("default_weight")[2].GetDouble(), DefaultInit.WeightBound(shape), $"{name} default weight bound");
            Close(c.GetProperty("default_bias")[2].GetDouble(), DefaultInit.BiasBound(shape), $"{name} default bias bound");
        }
        Assert.True(checkedCalls >= 100, $"only {checkedCalls} cases");
    }

    [Fact]
    public void TruncNormalCdfRangeMatchesPyTorch()
    {
        foreach (var t in Config().GetProperty("trunc_normal").EnumerateArray())
        {
            double mean = t.GetProperty("mean").GetDouble(), std = t.GetProperty("std").GetDouble();
            double a = t.GetProperty("a").GetDouble(), b = t.GetProperty("b").GetDouble();
            var (low, high) = Initializers.TruncNormalCdfRange(mean, std, a, b);
            var call = t.GetProperty("call");
            // PyTorch draws U(2l − 1, 2u − 1); its Φ uses libm's erf, CnnLab its own series: agree to ~1e-15 absolute.
            Assert.True(Math.Abs(2 * low - 1 - call[1].GetDouble()) < 1e-14, $"trunc_normal l for {t}");
            Assert.True(Math.Abs(2 * high - 1 - call[2].GetDouble()) < 1e-14, $"trunc_normal u for {t}");
        }
    }

    [Fact]
    public void EyeAndDiracMatchPyTorch()
    {
        var contents = Fixtures.Load("init", "init_formulas");
        foreach (var d in Fixtures.Config(contents).GetProperty("deterministic").EnumerateArray())
        {
            var shape = ShapeOf(d.GetProperty("shape"));
            var t = Tensor.Full(7f, shape);
            if (d.GetProperty("init").GetString() == "eye") Initializers.Eye(t);
            else Initializers.Dirac(t, d.GetProperty("groups").GetInt32());
            string key = d.GetProperty("key").GetString()!;
            Fixtures.AssertClose(contents.Tensors[key], t, 0, 0, key, Script);
        }
    }
}
