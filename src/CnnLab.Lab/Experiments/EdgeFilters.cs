namespace CnnLab.Lab.Experiments;

/// <summary>
/// When is a first-layer filter "edge-like"? A k×k filter w is split along an orthonormal basis of its second-order
/// Taylor expansion on centred coordinates (x, y): the constant 1 (brightness, DC), the oriented terms x and y (a
/// gradient: a step edge at any angle, as Sobel or Gabor-odd filters) and x² − y², xy (an oriented second derivative: a
/// bar or line), the isotropic x² + y² (a centre-surround blob; on a 3×3 grid it holds part of a Laplacian, whose rest is
/// the x²y² term), and the rest (third- and fourth-order terms, such as Sobel's x·y² or a checkerboard, which the expansion
/// does not reach). The oriented share is ‖P_oriented w‖² / ‖w‖² (summed over input
/// channels), and a filter is edge-like when it exceeds <see cref="Threshold"/>: more than half of its energy is
/// oriented structure, as for the Gabor-like first-layer filters of Zeiler and Fergus (2014, arXiv:1311.2901). A random
/// Gaussian 3×3 filter has an expected oriented share of 4/9, so about 40% of untrained filters pass by chance; the
/// experiment reports the share at initialization beside the trained one.
/// </summary>
internal static class EdgeFilters
{
    public const double Threshold = 0.5;

    /// <summary>(oriented, DC, isotropic) energy shares of each output filter of a weight [out, in, k, k].</summary>
    public static (double Oriented, double Dc, double Isotropic)[] Shares(ReadOnlySpan<float> weight, int outChannels, int inChannels, int k)
    {
        var basis = Basis(k);
        var result = new (double, double, double)[outChannels];
        for (int o = 0; o < outChannels; o++)
        {
            double total = 0, dc = 0, oriented = 0, iso = 0;
            for (int i = 0; i < inChannels; i++)
            {
                var w = weight.Slice((o * inChannels + i) * k * k, k * k);
                foreach (float v in w) total += (double)v * v;
                for (int b = 0; b < basis.Length; b++)
                {
                    double p = 0;
                    for (int j = 0; j < w.Length; j++) p += w[j] * basis[b][j];
                    if (b == 0) dc += p * p; else if (b <= 4) oriented += p * p; else iso += p * p;
                }
            }
            result[o] = total == 0 ? (0, 1, 0) : (oriented / total, dc / total, iso / total);
        }
        return result;
    }

    /// <summary>Share of filters whose oriented share exceeds <see cref="Threshold"/>.</summary>
    public static double EdgeLikeShare(IEnumerable<(double Oriented, double Dc, double Isotropic)> shares)
    {
        var all = shares.ToArray();
        return all.Length == 0 ? double.NaN : all.Count(s => s.Oriented > Threshold) / (double)all.Length;
    }

    // 1; x, y, x² − y², xy (oriented); x² + y² made orthogonal to 1 (isotropic); each of unit norm. The oriented terms are
    // orthogonal to 1, to each other and to x² + y² by the symmetry of a centred square grid.
    private static double[][] Basis(int k)
    {
        double c = (k - 1) / 2.0;
        double[] Of(Func<double, double, double> f)
        {
            var v = new double[k * k];
            for (int r = 0; r < k; r++) for (int q = 0; q < k; q++) v[r * k + q] = f(q - c, r - c);
            return v;
        }
        var iso = Of((x, y) => x * x + y * y);
        double mean = iso.Average();
        var raw = new[] { Of((_, _) => 1), Of((x, _) => x), Of((_, y) => y), Of((x, y) => x * x - y * y), Of((x, y) => x * y),
            iso.Select(v => v - mean).ToArray() };
        return raw.Select(v =>
        {
            double n = Math.Sqrt(v.Sum(a => a * a));
            return n == 0 ? v : v.Select(a => a / n).ToArray();
        }).ToArray();
    }
}
