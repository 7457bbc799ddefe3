namespace CnnLab.Lab.Experiments;

/// <summary>
/// The class-selectivity index of a unit (Morcos, Barrett, Rabinowitz and Botvinick, "On the importance of single
/// directions for generalization", ICLR 2018, arXiv:1803.06959): with μ_max the largest class-conditional mean activation
/// and μ_−max the mean of the other classes' means, SI = (μ_max − μ_−max) / (μ_max + μ_−max + ε). It is 0 for a unit that
/// responds to every class alike and 1 for one that responds to a single class only; with ReLU outputs (≥ 0) it lies in
/// [0, 1]. Here a unit is a channel, its activation the channel's spatial mean on an image.
/// </summary>
internal static class ClassSelectivity
{
    private const double Epsilon = 1e-7;

    /// <summary>(SI, preferred class) of each channel from [image][channel] activations and the images' labels.
    /// A channel that is zero on every image (dead) gets SI NaN: it selects nothing and is left out of averages.</summary>
    public static (double Index, int PreferredClass)[] Of(double[][] activations, int[] labels, int classes)
    {
        int channels = activations[0].Length;
        var sums = new double[classes, channels];
        var counts = new int[classes];
        for (int i = 0; i < activations.Length; i++)
        {
            counts[labels[i]]++;
            for (int c = 0; c < channels; c++) sums[labels[i], c] += activations[i][c];
        }
        var result = new (double, int)[channels];
        for (int c = 0; c < channels; c++)
        {
            var means = Enumerable.Range(0, classes).Where(k => counts[k] > 0).Select(k => (Mean: sums[k, c] / counts[k], Class: k)).ToArray();
            var best = means.MaxBy(m => m.Mean);
            double rest = means.Where(m => m.Class != best.Class).Select(m => m.Mean).DefaultIfEmpty(0).Average();
            result[c] = best.Mean <= 0 && rest <= 0 ? (double.NaN, best.Class) : ((best.Mean - rest) / (best.Mean + rest + Epsilon), best.Class);
        }
        return result;
    }

    /// <summary>
    /// How many classes each live channel answers: the number whose class-conditional mean is at least half the preferred
    /// class's (1 for a one-class detector, 10 for a unit indifferent to the class); the mean over the live channels.
    /// </summary>
    public static double MeanBreadth(double[][] activations, int[] labels, int classes)
    {
        int channels = activations[0].Length;
        var sums = new double[classes, channels];
        var counts = new int[classes];
        for (int i = 0; i < activations.Length; i++)
        {
            counts[labels[i]]++;
            for (int c = 0; c < channels; c++) sums[labels[i], c] += activations[i][c];
        }
        var breadth = new List<int>();
        for (int c = 0; c < channels; c++)
        {
            var means = Enumerable.Range(0, classes).Where(k => counts[k] > 0).Select(k => sums[k, c] / counts[k]).ToArray();
            double max = means.Max();
            if (max > 0) breadth.Add(means.Count(m => m >= max / 2));
        }
        return breadth.Count == 0 ? double.NaN : breadth.Average();
    }

    /// <summary>Mean SI over the live channels of a layer (NaN if all are dead).</summary>
    public static double Mean(IEnumerable<(double Index, int PreferredClass)> units)
    {
        var live = units.Select(u => u.Index).Where(double.IsFinite).ToArray();
        return live.Length == 0 ? double.NaN : live.Average();
    }
}
