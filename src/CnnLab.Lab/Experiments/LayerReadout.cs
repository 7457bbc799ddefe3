using CnnLab.Data;
using CnnLab.Nn;
using CnnLab.Tensors;

namespace CnnLab.Lab.Experiments;

/// <summary>Where one channel fired most: the image, the output position and the activation there.</summary>
internal readonly record struct TopActivation(float Value, int Image, int Y, int X);

/// <summary>
/// What <see cref="FeatureHierarchyExperiment"/> reads from one layer's output (after its ReLU) over a set of images:
/// the output average-pooled to a <see cref="Grid"/>×<see cref="Grid"/> grid of cells per channel (the linear probe's
/// features), each channel's spatial mean (the class-selectivity input), and each channel's top activations.
/// </summary>
internal sealed class LayerReadout(int channels, int images, int topK)
{
    /// <summary>Cells per side of the probe's pooling: enough to keep where on the garment a feature is, few enough that
    /// every layer gives a probe of comparable size (C·16 features).</summary>
    public const int Grid = 4;

    public int Channels { get; } = channels;

    /// <summary>[image][channel · Grid² + cell] average-pooled activations.</summary>
    public float[][] Pooled { get; } = new float[images][];

    /// <summary>[image][channel] spatial mean activation.</summary>
    public double[][] ChannelMean { get; } = new double[images][];

    /// <summary>[channel] the <c>topK</c> largest (max over positions) activations, largest first.</summary>
    public List<TopActivation>[] Top { get; } = Enumerable.Range(0, channels).Select(_ => new List<TopActivation>(topK + 1)).ToArray();

    private readonly int _topK = topK;

    /// <summary>
    /// Runs <paramref name="model"/> (eval mode, no gradients) over <paramref name="data"/> and reads the outputs of the modules
    /// at <paramref name="layers"/> (each [N, C, H, W]) through forward hooks, batch by batch, without keeping the maps.
    /// </summary>
    public static LayerReadout[] Read(Sequential model, int[] layers, ImageDataset data, int topK)
    {
        LayerReadout[]? readouts = null;
        bool wasTraining = model.Training;
        model.Eval();
        int offset = 0;
        var hooks = new List<IDisposable>();
        try
        {
            var outputs = new Tensor?[layers.Length];
            for (int l = 0; l < layers.Length; l++)
            {
                int k = l;
                hooks.Add(model[layers[l]].RegisterForwardHook((Module _, Tensor _, Tensor o) => outputs[k] = o));
            }
            foreach (var batch in new DataLoader(data, 250, normalize: Normalize.FashionMnist, prefetch: false).Epoch(0))
            {
                using (Autograd.NoGrad()) model.Forward(batch.X);
                readouts ??= outputs.Select(o => new LayerReadout(o!.Shape[1], data.Count, topK)).ToArray();
                for (int l = 0; l < layers.Length; l++) readouts[l].Add(outputs[l]!, offset);
                offset += batch.X.Shape[0];
            }
        }
        finally
        {
            foreach (var h in hooks) h.Dispose();
            model.Train(wasTraining);
        }
        return readouts ?? throw new ArgumentException("no images to read the layers on");
    }

    // o is [N, C, H, W]; pooling cells follow PyTorch's adaptive rule: cell i spans [⌊i·H/G⌋, ⌈(i+1)·H/G⌉).
    private void Add(Tensor o, int offset)
    {
        int n = o.Shape[0], c = o.Shape[1], h = o.Shape[2], w = o.Shape[3];
        var data = o.Data;
        for (int img = 0; img < n; img++)
        {
            var pooled = new float[c * Grid * Grid];
            var means = new double[c];
            for (int ch = 0; ch < c; ch++)
            {
                var map = data.Slice((img * c + ch) * h * w, h * w);
                double sum = 0;
                float best = float.NegativeInfinity;
                int bestAt = 0;
                for (int i = 0; i < map.Length; i++)
                {
                    sum += map[i];
                    if (map[i] > best) { best = map[i]; bestAt = i; }
                }
                means[ch] = sum / map.Length;
                for (int gy = 0; gy < Grid; gy++)
                    for (int gx = 0; gx < Grid; gx++)
                    {
                        int y0 = gy * h / Grid, y1 = ((gy + 1) * h + Grid - 1) / Grid, x0 = gx * w / Grid, x1 = ((gx + 1) * w + Grid - 1) / Grid;
                        double cell = 0;
                        for (int y = y0; y < y1; y++) for (int x = x0; x < x1; x++) cell += map[y * w + x];
                        pooled[(ch * Grid + gy) * Grid + gx] = (float)(cell / ((y1 - y0) * (x1 - x0)));
                    }
                Offer(ch, new TopActivation(best, offset + img, bestAt / w, bestAt % w));
            }
            Pooled[offset + img] = pooled;
            ChannelMean[offset + img] = means;
        }
    }

    // Keeps the largest topK, ties to the earlier image (so the choice is the same for any batch size).
    private void Offer(int channel, TopActivation a)
    {
        var top = Top[channel];
        int at = top.FindIndex(t => a.Value > t.Value);
        if (at < 0) at = top.Count;
        if (at >= _topK) return;
        top.Insert(at, a);
        if (top.Count > _topK) top.RemoveAt(top.Count - 1);
    }
}
