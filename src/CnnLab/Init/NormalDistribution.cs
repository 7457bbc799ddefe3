namespace CnnLab.Init;

/// <summary>
/// The standard normal's density, CDF and inverse CDF in double precision (absolute error ~1e-15),
/// for the truncated normal (.NET has no erf).
/// </summary>
internal static class NormalDistribution
{
    private const double InvSqrt2Pi = 0.39894228040143267794;

    /// <summary>φ(x) = exp(−x²/2)/√(2π).</summary>
    public static double Pdf(double x) => InvSqrt2Pi * Math.Exp(-0.5 * x * x);

    /// <summary>Φ(x) = (1 + erf(x/√2))/2, written as erfc(−x/√2)/2 so that the lower tail keeps its relative precision.</summary>
    public static double Cdf(double x) => 0.5 * Erfc(-x / Math.Sqrt(2.0));

    /// <summary>erf(x).</summary>
    public static double Erf(double x) => x < 0 ? -Erf(-x) : (x < 3.0 ? ErfSeries(x) : 1.0 - ErfcContinuedFraction(x));

    /// <summary>erfc(x) = 1 − erf(x).</summary>
    public static double Erfc(double x)
    {
        if (x < 0) return 2.0 - Erfc(-x);
        return x < 3.0 ? 1.0 - ErfSeries(x) : ErfcContinuedFraction(x);
    }

    // erf(x) = 2/√π · e^{−x²} · Σ_{n≥0} 2ⁿ x^{2n+1} / (1·3·5···(2n+1)): every term positive, so no cancellation.
    private static double ErfSeries(double x)
    {
        double x2 = x * x, term = x, sum = x;
        for (int n = 1; n < 200 && term > 1e-17 * sum; n++)
        {
            term *= 2.0 * x2 / (2 * n + 1);
            sum += term;
        }
        return 2.0 / Math.Sqrt(Math.PI) * Math.Exp(-x2) * sum;
    }

    // erfc(x) = e^{−x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))), x ≥ 3, by Lentz's method.
    private static double ErfcContinuedFraction(double x)
    {
        const double tiny = 1e-300;
        double f = x, c = x, d = 0;
        for (int n = 1; n < 300; n++)
        {
            double an = n * 0.5;
            d = x + an * d; if (Math.Abs(d) < tiny) d = tiny;
            c = x + an / c; if (Math.Abs(c) < tiny) c = tiny;
            d = 1.0 / d;
            double delta = c * d;
            f *= delta;
            if (Math.Abs(delta - 1.0) < 1e-16) break;
        }
        return Math.Exp(-x * x) / Math.Sqrt(Math.PI) / f;
    }

    /// <summary>
    /// Φ⁻¹(p) for p in (0, 1) by Halley's method on Φ(x) − p, safeguarded by bisection on a bracket
    /// [lo, hi] that contains the root (pass the truncation limits, or ±40).
    /// </summary>
    public static double InverseCdf(double p, double lo = -40, double hi = 40)
    {
        if (!(p > 0 && p < 1)) return p <= 0 ? lo : hi;
        // Tukey's lambda approximation as a start (error < 0.01 in the body).
        double x = 4.91 * (Math.Pow(p, 0.14) - Math.Pow(1 - p, 0.14));
        if (x <= lo || x >= hi) x = 0.5 * (lo + hi);
        for (int iter = 0; iter < 60; iter++)
        {
            double f = Cdf(x) - p;
            if (f == 0) return x;
            if (f > 0) hi = x; else lo = x;
            double pdf = Pdf(x);
            double next = pdf > 0 ? x - f / pdf / (1 + 0.5 * x * f / pdf) : double.NaN;
            if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
            if (Math.Abs(next - x) <= 1e-15 * Math.Max(1.0, Math.Abs(x))) return next;
            x = next;
        }
        return x;
    }
}
