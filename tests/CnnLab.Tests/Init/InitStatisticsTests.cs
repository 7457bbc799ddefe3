using CnnLab.Init;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// Sampling statistics of every random initializer on 10^5 draws. Tolerances come from the sampling
/// error, not a guess: |mean − μ| ≤ 5·σ/√n and |std − σ| ≤ 5·SE(std) with SE(std) ≈ σ·√((κ − 1)/(4n)),
/// κ the distribution's kurtosis (3 for the normal, so σ/√(2n); 9/5 for the uniform).
/// </summary>
public class InitStatisticsTests
{
    private static readonly int[] Shape = [250, 400]; // n = 10^5, fan_in 400, fan_out 250
    private const double KurtosisNormal = 3.0, KurtosisUniform = 1.8;

    private static void AssertMoments(Tensor t, double mu, double sigma, double kurtosis, string what)
    {
        int n = t.Numel;
        Assert.True(n >= 100_000);
        double sum = 0;
        foreach (var v in t.Data) sum += v;
        double mean = sum / n, ss = 0;
        foreach (var v in t.Data) ss += (v - mean) * (v - mean);
        double std = Math.Sqrt(ss / (n - 1));
        double seMean = sigma / Math.Sqrt(n), seStd = sigma * Math.Sqrt((kurtosis - 1) / (4.0 * n));
        Assert.True(Math.Abs(mean - mu) <= 5 * seMean, $"{what}: mean {mean:G6}, expected {mu:G6} ± {5 * seMean:G3}");
        Assert.True(Math.Abs(std - sigma) <= 5 * seStd, $"{what}: std {std:G6}, expected {sigma:G6} ± {5 * seStd:G3}");
    }

    private static void AssertWithin(Tensor t, double low, double high, string what)
    {
        foreach (var v in t.Data)
            Assert.True(v >= (float)low && v <= (float)high, $"{what}: {v} outside [{low}, {high}]");
    }

    [Fact]
    public void Uniform()
    {
        var t = Initializers.Uniform(new Tensor(Shape), -0.5, 1.5, new Generator(1));
        AssertMoments(t, 0.5, 2 / Math.Sqrt(12), KurtosisUniform, "Uniform(-0.5, 1.5)");
        AssertWithin(t, -0.5, 1.5, "Uniform");
    }

    [Fact]
    public void UniformDefaultsAreZeroOne()
    {
        var t = Initializers.Uniform(new Tensor(Shape), generator: new Generator(2));
        AssertMoments(t, 0.5, 1 / Math.Sqrt(12), KurtosisUniform, "Uniform()");
        AssertWithin(t, 0, 1, "Uniform()");
    }

    [Fact]
    public void Normal()
    {
        AssertMoments(Initializers.Normal(new Tensor(Shape), 0.3, 2.0, new Generator(3)), 0.3, 2.0, KurtosisNormal, "Normal(0.3, 2)");
        AssertMoments(Initializers.Normal(new Tensor(Shape), generator: new Generator(4)), 0, 1, KurtosisNormal, "Normal() defaults 0, 1");
    }

    [Theory]
    [InlineData(0.0, 1.0, -2.0, 2.0)]   // PyTorch's defaults
    [InlineData(0.5, 2.0, -1.5, 2.5)]   // asymmetric
    [InlineData(1.0, 1.0, 2.0, 4.0)]    // entirely in the upper tail
    public void TruncNormal(double mean, double std, double a, double b)
    {
        var t = Initializers.TruncNormal(new Tensor(Shape), mean, std, a, b, new Generator(5));
        AssertWithin(t, a, b, "TruncNormal");
        // moments of the truncated normal: α, β standardized limits, Z = Φ(β) − Φ(α)
        double alpha = (a - mean) / std, beta = (b - mean) / std;
        double pa = NormalDistribution.Pdf(alpha), pb = NormalDistribution.Pdf(beta);
        double z = NormalDistribution.Cdf(beta) - NormalDistribution.Cdf(alpha);
        double mu = mean + std * (pa - pb) / z;
        double variance = std * std * (1 + (alpha * pa - beta * pb) / z - Math.Pow((pa - pb) / z, 2));
        // a truncated normal's kurtosis is below the normal's, so κ = 3 is conservative
        AssertMoments(t, mu, Math.Sqrt(variance), KurtosisNormal, $"TruncNormal({mean}, {std}, {a}, {b})");
    }

    [Fact]
    public void TruncNormalDefaults()
    {
        var t = Initializers.TruncNormal(new Tensor(Shape), generator: new Generator(6));
        AssertWithin(t, -2, 2, "TruncNormal() defaults mean 0, std 1, [-2, 2]");
        Assert.Contains(t.Data.ToArray(), v => v < -1.9f);
    }

    public static TheoryData<string> RandomInits => ["xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal",
        "kaiming_uniform_fan_out_leaky", "lecun_uniform", "lecun_normal", "default", "trunc_normal", "orthogonal", "normal", "uniform"];

    private static Tensor Apply(string name, Tensor t, Generator g) => name switch
    {
        "xavier_uniform" => Initializers.XavierUniform(t, 5.0 / 3, g),
        "xavier_normal" => Initializers.XavierNormal(t, 1.0, g),
        "kaiming_uniform" => Initializers.KaimingUniform(t, 0, FanMode.FanIn, Nonlinearity.Relu, g),
        "kaiming_normal" => Initializers.KaimingNormal(t, 0, FanMode.FanIn, Nonlinearity.Relu, g),
        "kaiming_uniform_fan_out_leaky" => Initializers.KaimingUniform(t, 0.2, FanMode.FanOut, Nonlinearity.LeakyRelu, g),
        "lecun_uniform" => Initializers.LeCunUniform(t, g),
        "lecun_normal" => Initializers.LeCunNormal(t, g),
        "default" => Fill(t, w => DefaultInit.Apply(w, null, g)),
        "trunc_normal" => Initializers.TruncNormal(t, 0, 0.02, -0.04, 0.04, g),
        "orthogonal" => Initializers.Orthogonal(t, 1.0, g),
        "normal" => Initializers.Normal(t, 0, 1, g),
        "uniform" => Initializers.Uniform(t, -1, 1, g),
        _ => throw new ArgumentException(name),
    };

    private static Tensor Fill(Tensor t, Action<Tensor> fill) { fill(t); return t; }

    [Theory]
    [MemberData(nameof(RandomInits))]
    public void SameSeedSameTensorDifferentSeedsDiffer(string name)
    {
        var a = Apply(name, new Tensor(24, 10), new Generator(42));
        var b = Apply(name, new Tensor(24, 10), new Generator(42));
        var c = Apply(name, new Tensor(24, 10), new Generator(43));
        Assert.Equal(a.ToArray(), b.ToArray());
        Assert.NotEqual(a.ToArray(), c.ToArray());
    }

    [Fact]
    public void GeneratorDefaultIsUsedWhenNoneIsGiven()
    {
        Generator.Default.ManualSeed(7);
        var a = Initializers.KaimingNormal(new Tensor(8, 8));
        Generator.Default.ManualSeed(7);
        var b = Initializers.KaimingNormal(new Tensor(8, 8));
        Assert.Equal(a.ToArray(), b.ToArray());
    }

    [Fact]
    public void XavierUniformMoments()
    {
        double gain = 5.0 / 3, bound = gain * Math.Sqrt(6.0 / (400 + 250));
        var t = Apply("xavier_uniform", new Tensor(Shape), new Generator(10));
        AssertMoments(t, 0, bound / Math.Sqrt(3), KurtosisUniform, "XavierUniform(gain 5/3)");
        AssertWithin(t, -bound, bound, "XavierUniform");
    }

    [Fact]
    public void XavierNormalMoments() =>
        AssertMoments(Apply("xavier_normal", new Tensor(Shape), new Generator(11)), 0, Math.Sqrt(2.0 / 650), KurtosisNormal, "XavierNormal");

    [Fact]
    public void KaimingUniformMoments()
    {
        double bound = Math.Sqrt(6.0 / 400);
        var t = Apply("kaiming_uniform", new Tensor(Shape), new Generator(12));
        AssertMoments(t, 0, bound / Math.Sqrt(3), KurtosisUniform, "KaimingUniform(relu)");
        AssertWithin(t, -bound, bound, "KaimingUniform");
        // fan_out, leaky slope 0.2: Var = 2/((1 + 0.04)·250)
        double b2 = Math.Sqrt(3 * 2 / (1.04 * 250));
        var t2 = Apply("kaiming_uniform_fan_out_leaky", new Tensor(Shape), new Generator(13));
        AssertMoments(t2, 0, b2 / Math.Sqrt(3), KurtosisUniform, "KaimingUniform(0.2, fan_out)");
        AssertWithin(t2, -b2, b2, "KaimingUniform(fan_out)");
    }

    [Fact]
    public void KaimingNormalMoments()
    {
        AssertMoments(Apply("kaiming_normal", new Tensor(Shape), new Generator(14)), 0, Math.Sqrt(2.0 / 400), KurtosisNormal, "KaimingNormal(relu)");
        // PyTorch's defaults: a = 0, fan_in, leaky_relu → gain √(2/(1+0)) = √2
        AssertMoments(Initializers.KaimingNormal(new Tensor(Shape), generator: new Generator(15)), 0, Math.Sqrt(2.0 / 400), KurtosisNormal,
            "KaimingNormal() defaults");
    }

    [Fact]
    public void LeCunMoments()
    {
        double bound = Math.Sqrt(3.0 / 400);
        var u = Apply("lecun_uniform", new Tensor(Shape), new Generator(16));
        AssertMoments(u, 0, 1 / Math.Sqrt(400), KurtosisUniform, "LeCunUniform");
        AssertWithin(u, -bound, bound, "LeCunUniform");
        AssertMoments(Apply("lecun_normal", new Tensor(Shape), new Generator(17)), 0, 1 / Math.Sqrt(400), KurtosisNormal, "LeCunNormal");
    }

    [Fact]
    public void DefaultInitIsUniformOneOverSqrtFanIn()
    {
        var w = new Tensor(Shape);
        var bias = new Tensor(100_000);
        DefaultInit.Apply(w, bias, new Generator(18));
        double bound = 1 / Math.Sqrt(400);
        // variance bound²/3 = 1/(3·fan_in)
        AssertMoments(w, 0, Math.Sqrt(1.0 / (3 * 400)), KurtosisUniform, "default weight");
        AssertWithin(w, -bound, bound, "default weight");
        AssertMoments(bias, 0, bound / Math.Sqrt(3), KurtosisUniform, "default bias");
        AssertWithin(bias, -bound, bound, "default bias");
    }

    [Theory]
    [InlineData(50, 200)]   // wide: W·Wᵀ = I
    [InlineData(200, 50)]   // tall: Wᵀ·W = I
    [InlineData(64, 64)]
    public void OrthogonalIsOrthogonal(int rows, int cols)
    {
        var w = Initializers.Orthogonal(new Tensor(rows, cols), 1.0, new Generator(19));
        bool wide = rows <= cols;
        int k = wide ? rows : cols;
        double worst = 0;
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++)
            {
                double dot = 0;
                if (wide) for (int p = 0; p < cols; p++) dot += (double)w.Storage[i * cols + p] * w.Storage[j * cols + p];
                else for (int p = 0; p < rows; p++) dot += (double)w.Storage[p * cols + i] * w.Storage[p * cols + j];
                worst = Math.Max(worst, Math.Abs(dot - (i == j ? 1 : 0)));
            }
        Assert.True(worst <= 1e-5, $"Orthogonal {rows}x{cols}: max |W·Wᵀ − I| = {worst:G3}");
    }

    [Fact]
    public void OrthogonalConvWeightIsFlattenedAndScaledByGain()
    {
        // [8, 2, 3, 3] → W [8, 18]: rows orthogonal with norm gain
        var w = Initializers.Orthogonal(new Tensor(8, 2, 3, 3), 2.0, new Generator(20));
        for (int i = 0; i < 8; i++)
            for (int j = 0; j < 8; j++)
            {
                double dot = 0;
                for (int p = 0; p < 18; p++) dot += (double)w.Storage[i * 18 + p] * w.Storage[j * 18 + p];
                Assert.True(Math.Abs(dot - (i == j ? 4 : 0)) < 1e-5, $"rows {i},{j}: {dot}");
            }
        Assert.Throws<ArgumentException>(() => Initializers.Orthogonal(new Tensor(5)));
    }

    [Fact]
    public void OrthogonalSignCorrectionGivesHaarMean()
    {
        // Without the sign correction Householder QR returns Q with a fixed sign pattern on the
        // diagonal (a biased distribution); with it, each Q[i,i] has mean 0 over draws.
        var g = new Generator(21);
        double sum = 0;
        int draws = 2000;
        for (int d = 0; d < draws; d++) sum += Initializers.Orthogonal(new Tensor(4, 4), 1.0, g)[0, 0];
        // Var(Q[0,0]) = 1/4 for a Haar 4x4 matrix; 5 standard errors
        Assert.True(Math.Abs(sum / draws) <= 5 * 0.5 / Math.Sqrt(draws), $"mean of Q[0,0] = {sum / draws}");
    }

    [Fact]
    public void ConstantZerosOnesAndValidation()
    {
        Assert.All(Initializers.Zeros(Tensor.Full(3f, 4, 5)).ToArray(), v => Assert.Equal(0f, v));
        Assert.All(Initializers.Ones(new Tensor(4, 5)).ToArray(), v => Assert.Equal(1f, v));
        Assert.All(Initializers.Constant(new Tensor(3), 0.25).ToArray(), v => Assert.Equal(0.25f, v));
        Assert.Throws<ArgumentException>(() => Initializers.Uniform(new Tensor(3), 1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.Normal(new Tensor(3), 0, -1));
        Assert.Throws<ArgumentException>(() => Initializers.TruncNormal(new Tensor(3), 0, 1, 2, 1));
        Assert.Throws<ArgumentException>(() => Initializers.Dirac(new Tensor(6, 4), 1));
        Assert.Throws<ArgumentException>(() => Initializers.Dirac(new Tensor(6, 4, 3, 3), 4));
        Assert.Throws<ArgumentException>(() => Initializers.Eye(new Tensor(2, 2, 2)));
    }

    [Fact]
    public void InitializersDoNotRecordAutograd()
    {
        var p = new Nn.Parameter(8, 8);
        Initializers.KaimingNormal(p, generator: new Generator(1));
        Assert.Null(p.GradFn);
        Assert.True(p.RequiresGrad);
    }

    [Fact]
    public void NormalInverseCdfRoundTrips()
    {
        foreach (var p in new[] { 1e-12, 1e-6, 0.01, 0.3, 0.5, 0.77, 0.999, 1 - 1e-9 })
            Assert.True(Math.Abs(NormalDistribution.Cdf(NormalDistribution.InverseCdf(p)) - p) <= 1e-12 * Math.Min(p, 1 - p) + 2e-16,
                $"Φ(Φ⁻¹({p}))");
        Assert.Equal(0.5, NormalDistribution.Cdf(0), 15);
        Assert.Equal(0.8413447460685429, NormalDistribution.Cdf(1), 14);  // Φ(1)
        Assert.Equal(0.0013498980316301, NormalDistribution.Cdf(-3), 15); // Φ(−3)
    }
}
