namespace CnnLab.Lab.Sweeps;

/// <summary>
/// Student's t distribution with ν degrees of freedom (ν may be fractional, as Welch's test gives):
/// P(|T| ≤ t) = 1 − I_{ν/(ν+t²)}(ν/2, 1/2), I the regularized incomplete beta function, evaluated by its continued
/// fraction (Lentz's method; Press et al., Numerical Recipes, 3rd ed., §6.4).
/// </summary>
/// <remarks>PyTorch: none (scipy.stats.t.cdf / t.ppf).</remarks>
public static class StudentT
{
    /// <summary>Two-sided tail probability P(|T| ≥ |t|).</summary>
    public static double TwoSidedP(double t, double nu)
    {
        if (!(nu > 0) || double.IsNaN(t)) return double.NaN;
        if (double.IsInfinity(t)) return 0;
        return RegularizedBeta(nu / (nu + t * t), nu / 2, 0.5);
    }

    /// <summary>The quantile t with P(|T| ≤ t) = <paramref name="coverage"/> (e.g. 0.95 → 4.303 for ν = 2, 1.960 as ν → ∞).</summary>
    public static double TwoSidedQuantile(double coverage, double nu)
    {
        if (!(nu > 0) || !(coverage > 0 && coverage < 1)) return double.NaN;
        double lo = 0, hi = 1;
        while (TwoSidedP(hi, nu) > 1 - coverage) hi *= 2;
        for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; i++)
        {
            double mid = (lo + hi) / 2;
            if (TwoSidedP(mid, nu) > 1 - coverage) lo = mid; else hi = mid;
        }
        return (lo + hi) / 2;
    }

    /// <summary>I_x(a, b), the regularized incomplete beta function, for 0 ≤ x ≤ 1 and a, b &gt; 0.</summary>
    public static double RegularizedBeta(double x, double a, double b)
    {
        if (x <= 0) return 0;
        if (x >= 1) return 1;
        double lnFront = LogGamma(a + b) - LogGamma(a) - LogGamma(b) + a * Math.Log(x) + b * Math.Log(1 - x);
        // The continued fraction converges fast for x < (a+1)/(a+b+2); otherwise use I_x(a,b) = 1 − I_{1−x}(b,a).
        return x < (a + 1) / (a + b + 2)
            ? Math.Exp(lnFront) * ContinuedFraction(x, a, b) / a
            : 1 - Math.Exp(lnFront) * ContinuedFraction(1 - x, b, a) / b;
    }

    private static double ContinuedFraction(double x, double a, double b)
    {
        const double tiny = 1e-300;
        double c = 1, d = 1 - (a + b) * x / (a + 1);
        d = 1 / (Math.Abs(d) < tiny ? tiny : d);
        double h = d;
        for (int m = 1; m <= 300; m++)
        {
            double m2 = 2 * m;
            double aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
            d = 1 + aa * d; d = 1 / (Math.Abs(d) < tiny ? tiny : d);
            c = 1 + aa / c; if (Math.Abs(c) < tiny) c = tiny;
            h *= d * c;
            aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
            d = 1 + aa * d; d = 1 / (Math.Abs(d) < tiny ? tiny : d);
            c = 1 + aa / c; if (Math.Abs(c) < tiny) c = tiny;
            double delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < 1e-15) break;
        }
        return h;
    }

    /// <summary>ln Γ(x) for x &gt; 0 (Lanczos, g = 7, n = 9; relative error below 1e-15).</summary>
    public static double LogGamma(double x)
    {
        if (x < 0.5) return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        double[] g = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
            12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
        x -= 1;
        double s = g[0];
        for (int i = 1; i < 9; i++) s += g[i] / (x + i);
        double t = x + 7.5;
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(s);
    }
}
