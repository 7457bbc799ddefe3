using CnnLab.Nn;
using CnnLab.Optim;
using CnnLab.Tensors;

namespace CnnLab.Lab.Experiments;

/// <summary>
/// A linear classifier probe (Alain and Bengio, "Understanding intermediate layers using linear classifier probes",
/// 2016, arXiv:1610.01644): softmax regression trained on a frozen layer's features, whose test accuracy measures how
/// linearly decodable the classes are at that depth. Features are standardized with the training set's mean and
/// standard deviation, then a <see cref="Linear"/> layer is trained full-batch by AdamW (lr 1e-2, weight decay 1e-3, a
/// light regularizer so that wider layers do not win by memorizing) for a fixed number of steps from a fixed seed.
/// </summary>
internal static class LinearProbe
{
    /// <summary>Test accuracy of a probe trained on (<paramref name="train"/>, <paramref name="trainLabels"/>).</summary>
    public static double TestAccuracy(float[][] train, int[] trainLabels, float[][] test, int[] testLabels, int classes, int steps, long seed)
    {
        int d = train[0].Length;
        var (mean, invStd) = Standardizer(train, d);
        var x = Matrix(train, mean, invStd);
        var probe = new Linear(d, classes, generator: new Generator(seed));
        var optimizer = new AdamW(probe.Parameters(), 1e-2, weightDecay: 1e-3);
        for (int s = 0; s < steps; s++)
        {
            optimizer.ZeroGrad();
            Functional.CrossEntropy(probe.Forward(x), trainLabels).Backward();
            optimizer.Step();
        }
        Tensor logits;
        using (Autograd.NoGrad()) logits = probe.Forward(Matrix(test, mean, invStd));
        int correct = 0;
        for (int i = 0; i < test.Length; i++)
        {
            var row = logits.Data.Slice(i * classes, classes);
            int arg = 0;
            for (int k = 1; k < classes; k++) if (row[k] > row[arg]) arg = k;
            if (arg == testLabels[i]) correct++;
        }
        return (double)correct / test.Length;
    }

    private static (double[] Mean, double[] InvStd) Standardizer(float[][] rows, int d)
    {
        var mean = new double[d];
        var sq = new double[d];
        foreach (var r in rows) for (int j = 0; j < d; j++) mean[j] += r[j];
        for (int j = 0; j < d; j++) mean[j] /= rows.Length;
        foreach (var r in rows) for (int j = 0; j < d; j++) sq[j] += (r[j] - mean[j]) * (r[j] - mean[j]);
        // A feature that never varies (a dead channel's cell) is left at 0 rather than divided by 0.
        var invStd = sq.Select(v => v > 0 ? 1 / Math.Sqrt(v / rows.Length) : 0).ToArray();
        return (mean, invStd);
    }

    private static Tensor Matrix(float[][] rows, double[] mean, double[] invStd)
    {
        int d = mean.Length;
        var data = new float[rows.Length * d];
        for (int i = 0; i < rows.Length; i++)
            for (int j = 0; j < d; j++) data[i * d + j] = (float)((rows[i][j] - mean[j]) * invStd[j]);
        return Tensor.FromArray(data, rows.Length, d);
    }
}
