using CnnLab.Data;
using CnnLab.Nn;
using CnnLab.Tensors;

namespace CnnLab.Lab.Experiments;

/// <summary>
/// The input a channel likes best (Erhan, Bengio, Courville and Vincent, "Visualizing higher-layer features of a deep
/// network", 2009; Olah, Mordvintsev and Schubert, "Feature visualization", Distill 2017): gradient ascent on the image
/// x of the channel's mean activation a(x) at one layer, from noise, with the regularizers of Olah et al. that keep
/// the picture natural: the image is jittered (rolled by up to ±2 pixels) before each step so that no pixel-exact
/// pattern pays, the step is the gradient divided by its RMS (a fixed-size step), x decays by a factor (1 − λ) per step
/// (an L2 penalty λ‖x‖²/2 in effect), and x is clipped to the range a normalized Fashion-MNIST pixel can take.
/// All channels asked for run as one batch; the model is in eval mode (BatchNorm uses its running statistics).
/// </summary>
internal static class ActivationMaximization
{
    public const float StepSize = 0.1f;
    public const float Decay = 0.01f;
    public const int Jitter = 2;

    // Strong enough that every channel of a ReLU network fires somewhere at the start: from faint noise a channel with a
    // negative bias is zero everywhere, its gradient too, and ascent never starts.
    public const float StartStd = 0.5f;

    /// <summary>One [28·28] image per (layer module index, channel), in the order asked.</summary>
    public static float[][] Run(Sequential model, IReadOnlyList<(int Layer, int Channel)> units, int steps, long seed, int size = 28)
    {
        var g = new Generator(seed);
        int n = units.Count, pixels = size * size;
        var x = new float[n * pixels];
        g.FillNormal(x, 0, StartStd);
        var norm = Normalize.FashionMnist;
        float lo = (0 - norm.Mean) / norm.Std, hi = (1 - norm.Mean) / norm.Std;
        bool wasTraining = model.Training;
        model.Eval();
        try
        {
            // One pass per distinct layer depth would need one forward per depth; the batch instead runs to the deepest layer
            // once and reads each image's own layer through hooks.
            int deepest = units.Max(u => u.Layer);
            for (int step = 0; step < steps; step++)
            {
                int dy = g.NextInt(2 * Jitter + 1) - Jitter, dx = g.NextInt(2 * Jitter + 1) - Jitter;
                var input = Tensor.FromArray(Roll(x, n, size, dy, dx), n, 1, size, size);
                input.RequiresGrad = true;
                Tensor h = input;
                var parts = new List<Tensor>();
                for (int m = 0; m <= deepest; m++)
                {
                    h = model[m].Forward(h);
                    var mine = Enumerable.Range(0, n).Where(i => units[i].Layer == m).ToArray();
                    if (mine.Length == 0) continue;
                    int c = h.Shape[1], hw = h.Shape[2] * h.Shape[3];
                    var mask = new float[h.Numel];
                    foreach (int i in mine) mask.AsSpan((i * c + units[i].Channel) * hw, hw).Fill(1f / hw);
                    parts.Add((h * Tensor.FromArray(mask, h.Shape.ToArray())).Sum());
                }
                parts.Aggregate((a, b) => a + b).Backward();
                var grad = Roll(input.Grad!.Data.ToArray(), n, size, -dy, -dx);
                for (int i = 0; i < n; i++)
                {
                    var gi = grad.AsSpan(i * pixels, pixels);
                    double sq = 0;
                    foreach (float v in gi) sq += (double)v * v;
                    float scale = StepSize / (float)(Math.Sqrt(sq / pixels) + 1e-8);
                    var xi = x.AsSpan(i * pixels, pixels);
                    for (int p = 0; p < pixels; p++) xi[p] = Math.Clamp((xi[p] + scale * gi[p]) * (1 - Decay), lo, hi);
                }
                model.ZeroGrad();
            }
        }
        finally { model.Train(wasTraining); }
        return Enumerable.Range(0, n).Select(i => x.AsSpan(i * pixels, pixels).ToArray()).ToArray();
    }

    // Rolls each image by (dy, dx) with wrap-around, as torch.roll.
    private static float[] Roll(float[] x, int n, int size, int dy, int dx)
    {
        var r = new float[x.Length];
        for (int i = 0; i < n; i++)
            for (int y = 0; y < size; y++)
                for (int q = 0; q < size; q++)
                    r[i * size * size + ((y + dy + size) % size) * size + (q + dx + size) % size] = x[i * size * size + y * size + q];
        return r;
    }
}
