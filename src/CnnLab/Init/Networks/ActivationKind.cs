using CnnLab.Nn;

namespace CnnLab.Init.Networks;

/// <summary>
/// An activation module as the init code sees it: which function, its parameter (LeakyReLU's slope,
/// ELU's α), its scalar formula (for variance propagation) and its PyTorch gain.
/// </summary>
/// <remarks>PyTorch: no counterpart; the notes' "activation decides initialization" made explicit.</remarks>
public sealed record ActivationKind(string Name, double Param = 0)
{
    /// <summary>The activation <paramref name="module"/> computes, or null if it is not ReLU, LeakyReLU, Tanh, Sigmoid, GELU or ELU.</summary>
    public static ActivationKind? Of(Module module) => module switch
    {
        ReLU => new("ReLU"),
        LeakyReLU l => new("LeakyReLU", l.NegativeSlope),
        Tanh => new("Tanh"),
        Sigmoid => new("Sigmoid"),
        GELU => new("GELU"),
        ELU e => new("ELU", e.Alpha),
        _ => null,
    };

    /// <summary>True for ReLU and LeakyReLU: units whose input is negative for every example are "dead".</summary>
    public bool IsRectifier => Name is "ReLU" or "LeakyReLU";

    /// <summary>f(x) in double.</summary>
    public double Apply(double x) => Name switch
    {
        "ReLU" => x > 0 ? x : 0,
        "LeakyReLU" => x >= 0 ? x : Param * x,
        "Tanh" => Math.Tanh(x),
        "Sigmoid" => 1 / (1 + Math.Exp(-x)),
        "GELU" => x * NormalDistribution.Cdf(x),
        "ELU" => x > 0 ? x : Param * (Math.Exp(x) - 1),
        _ => throw new InvalidOperationException(Name),
    };

    /// <summary>
    /// (E[f(Y)], Var[f(Y)]) for Y ~ N(mean, variance): how the activation transforms a Gaussian signal's
    /// first two moments (trapezoid rule on ±10 standard deviations; exact enough for a prediction).
    /// </summary>
    public (double Mean, double Variance) Propagate(double mean, double variance)
    {
        double sd = Math.Sqrt(Math.Max(variance, 0));
        if (sd == 0) { double v = Apply(mean); return (v, 0); }
        const int steps = 2000;
        const double zMax = 10;
        double h = 2 * zMax / steps, m1 = 0, m2 = 0;
        for (int i = 0; i <= steps; i++)
        {
            double z = -zMax + i * h, w = (i == 0 || i == steps ? 0.5 : 1) * h * NormalDistribution.Pdf(z);
            double f = Apply(mean + sd * z);
            m1 += w * f;
            m2 += w * f * f;
        }
        return (m1, Math.Max(0, m2 - m1 * m1));
    }

    /// <summary>A readable name: "ReLU", "LeakyReLU(0.2)", "ELU(1)".</summary>
    public override string ToString() => Name is "LeakyReLU" or "ELU" ? FormattableString.Invariant($"{Name}({Param:G4})") : Name;
}
